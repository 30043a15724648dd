//! Console sessions: login with its throttle and limits, sessions, logout.

use super::*;

impl Bureau {
    /// Waits (briefly) for a free password-hashing slot: Argon2 takes a core and
    /// ~19 MiB for each check, so only as many run at once as there are cores.
    pub async fn password_slot(&self) -> Result<tokio::sync::OwnedSemaphorePermit> {
        let slots = Arc::clone(&self.password_slots);
        match tokio::time::timeout(Duration::from_secs(10), slots.acquire_owned()).await {
            Ok(Ok(permit)) => Ok(permit),
            _ => Err(BureauError::Busy),
        }
    }

    /// A slot to build a list export in, or 503 while another is being built.
    pub fn export_slot(&self) -> Result<tokio::sync::OwnedSemaphorePermit> {
        Arc::clone(&self.export_slots)
            .try_acquire_owned()
            .map_err(|_| BureauError::Busy)
    }

    /// Checks a password; returns the session token and its CSRF token. Call it
    /// holding a [`password_slot`](Self::password_slot).
    pub fn login(
        &self,
        username: &str,
        password: &str,
        from: IpAddr,
    ) -> Result<(String, String, User)> {
        let limited = |retry_after_secs| BureauError::RateLimited { retry_after_secs };
        let username = username.trim();
        // Names are at most 64 characters (see add_user): anything longer is no
        // account, refused before any lookup, hashing or logging.
        if username.is_empty() || username.chars().count() > 64 || password.len() > 1024 {
            return Err(BureauError::BadCredentials);
        }
        self.login_global.check(&()).map_err(limited)?;
        let address = self.login_by_address.key(&from.to_string());
        self.shared_limit(&address, self.login_by_address.rule(now_ms(), false))?;
        let found = self.storage.user_credentials(username)?;
        if let Some((user, _)) = &found {
            let account = LoginThrottle::key(user.id);
            self.shared_limit(&account, self.login_throttle.begin(now_ms()))?;
        }
        // Hash even for an unknown name, so timing does not tell which names exist.
        let ok = match &found {
            Some((_, hash)) => secrets::verify_password(password, hash),
            None => {
                let _ = secrets::verify_password(password, dummy_hash());
                false
            }
        };
        if let Some((user, _)) = found.as_ref().filter(|_| ok) {
            self.shared_limit(&LoginThrottle::key(user.id), LoginThrottle::success())?;
        }
        let Some((user, _)) = found.as_ref().filter(|_| ok).cloned() else {
            // Counts against the address; the bucket refills over the hour.
            let _ = self.shared_limit(&address, self.login_by_address.rule(now_ms(), true));
            // Only an existing account's name goes into the append-only log: a
            // stranger's typing (any length, any text) never does.
            let (subject, district) = match &found {
                Some((u, _)) => (
                    format!("user:{}", u.username),
                    u.district.as_ref().map(|d| d.id),
                ),
                None => ("user:?".to_string(), None),
            };
            self.storage.record_audit(audit(
                &Actor::Anonymous(from),
                district,
                "login_failed",
                subject,
                None,
                None,
            ))?;
            return Err(BureauError::BadCredentials);
        };
        let token = secrets::new_token();
        let csrf = secrets::new_token();
        let now = now();
        // Expired sessions are swept whenever someone logs in.
        self.storage.delete_expired_sessions(now)?;
        self.storage.create_session(
            &secrets::token_hash(&token),
            user.id,
            &csrf,
            now,
            now + chrono::Duration::hours(i64::from(self.config.session_hours)),
        )?;
        self.storage.record_audit(audit(
            &Actor::User(user.username.clone()),
            user.district.as_ref().map(|d| d.id),
            "login",
            format!("user:{}", user.username),
            None,
            None,
        ))?;
        Ok((token, csrf, user))
    }

    /// The user and CSRF token of a live session.
    pub fn session(&self, token: &str) -> Result<(User, String)> {
        if token.len() != 64 || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(BureauError::Unauthenticated);
        }
        self.storage
            .session(&secrets::token_hash(token), now())?
            .ok_or(BureauError::Unauthenticated)
    }

    pub fn logout(&self, token: &str) -> Result<()> {
        Ok(self.storage.delete_session(&secrets::token_hash(token))?)
    }
}

/// A real Argon2id hash of a random password, verified against for unknown user
/// names so both paths cost the same.
fn dummy_hash() -> &'static str {
    static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HASH.get_or_init(|| secrets::hash_password(&secrets::new_token()).unwrap_or_default())
}
