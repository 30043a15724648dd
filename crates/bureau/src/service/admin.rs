//! Administration from the command line: districts, users, passwords, enrolment codes.

use super::*;

impl Bureau {
    pub fn create_district(&self, code: &str, name: &str, actor: &Actor) -> Result<District> {
        let code = code.trim();
        if code.is_empty()
            || code.len() > 40
            || !code
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        {
            return Err(BureauError::invalid(
                fieldlead_domain::ErrorCode::DistrictCode,
                "区县代码只能用小写字母、数字和连字符，例如 yuzhong",
            ));
        }
        let name = check_text("district_name", "区县局名称", name, 100, true)?.unwrap_or_default();
        if self.storage.district_by_code(code)?.is_some() {
            return Err(BureauError::invalid(
                fieldlead_domain::ErrorCode::DistrictExists,
                format!("区县 {code} 已存在"),
            ));
        }
        Ok(self.storage.create_district(
            code,
            &name,
            audit(
                actor,
                None,
                "district_created",
                format!("district:{code}"),
                None,
                Some(serde_json::json!({"code": code, "name": name})),
            ),
        )?)
    }

    pub fn district(&self, code: &str) -> Result<District> {
        self.storage
            .district_by_code(code)?
            .ok_or(BureauError::NotFound { what: "区县" })
    }

    pub fn add_user(
        &self,
        username: &str,
        display_name: &str,
        role: Role,
        district_code: Option<&str>,
        password: &str,
        actor: &Actor,
    ) -> Result<User> {
        let username = username.trim();
        if username.is_empty()
            || username.len() > 64
            || !username
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
        {
            return Err(BureauError::invalid(
                fieldlead_domain::ErrorCode::Username,
                "用户名只能用字母、数字和 . _ -，最多 64 位",
            ));
        }
        let display =
            check_text("display_name", "姓名", display_name, 50, true)?.unwrap_or_default();
        if password.chars().count() < 10 {
            return Err(BureauError::invalid(
                fieldlead_domain::ErrorCode::PasswordShort,
                "密码至少 10 位",
            ));
        }
        let district = match (role, district_code) {
            (Role::CityAdmin, None) => None,
            (Role::CityAdmin, Some(_)) => {
                return Err(BureauError::invalid(
                    fieldlead_domain::ErrorCode::DistrictForCityAdmin,
                    "市局管理员不属于任何区县，请不要指定区县",
                ))
            }
            (_, Some(code)) => Some(self.district(code)?),
            (_, None) => {
                return Err(BureauError::invalid(
                    fieldlead_domain::ErrorCode::DistrictRequired,
                    "除市局质监处外，每个用户都必须指定区县",
                ))
            }
        };
        let user = NewUser {
            username: username.to_string(),
            display_name: display.clone(),
            role,
            district_id: district.as_ref().map(|d| d.id),
            password_hash: secrets::hash_password(password)?,
        };
        self.storage
            .add_user(
                user,
                audit(
                    actor,
                    district.as_ref().map(|d| d.id),
                    "user_added",
                    format!("user:{username}"),
                    None,
                    Some(serde_json::json!({"display_name": display, "role": role.as_str()})),
                ),
            )?
            .ok_or_else(|| {
                BureauError::invalid(
                    fieldlead_domain::ErrorCode::UsernameTaken,
                    format!("用户名 {username} 已存在"),
                )
            })
    }

    pub fn set_password(&self, username: &str, password: &str, actor: &Actor) -> Result<()> {
        if password.chars().count() < 10 {
            return Err(BureauError::invalid(
                fieldlead_domain::ErrorCode::PasswordShort,
                "密码至少 10 位",
            ));
        }
        let hash = secrets::hash_password(password)?;
        let changed = self.storage.set_password(
            username,
            &hash,
            audit(
                actor,
                None,
                "password_set",
                format!("user:{username}"),
                None,
                None,
            ),
        )?;
        if !changed {
            return Err(BureauError::NotFound { what: "用户" });
        }
        Ok(())
    }

    /// Issues a one-time enrolment code for a district.
    pub fn issue_enrolment_code(&self, district: &District, actor: &Actor) -> Result<IssuedCode> {
        let code = EnrolmentCode::from_random(&secrets::random_bytes::<24>());
        let expires_at =
            now() + chrono::Duration::hours(i64::from(self.config.enrolment_code_hours));
        self.storage.create_enrolment_code(
            &secrets::token_hash(code.as_str()),
            district.id,
            expires_at,
            audit(
                actor,
                Some(district.id),
                "enrolment_code_issued",
                format!("district:{}", district.code),
                None,
                Some(serde_json::json!({"expires_at": expires_at})),
            ),
        )?;
        Ok(IssuedCode {
            // The fingerprint lets the tablet check that the key it is answered
            // with is this bureau's.
            invite: EnrolmentInvite::new(
                &self.config.public_url(),
                code.clone(),
                &district.name,
                self.key.public_key().fingerprint(),
            ),
            code,
            district: district.clone(),
            expires_at,
        })
    }
}
