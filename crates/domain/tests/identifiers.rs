//! Every identifier rule: real published codes pass, each kind of mistake is named.

use fieldlead_domain::{CccCertificate, IdError, LicenceKind, ProductionLicence, Uscc};

/// Unified social credit codes published on business licences and annual reports.
const REAL_USCCS: &[(&str, &str)] = &[
    ("914403001922038216", "华为技术有限公司"),
    ("9144030071526726XG", "深圳市腾讯计算机系统有限公司"),
    ("91110108551385082Q", "北京小米科技有限责任公司"),
    ("911000001000013428", "中国银行股份有限公司"),
    ("91350100M000100Y43", "GB 32100 示例"),
];

#[test]
fn real_published_usccs_pass() {
    for (code, who) in REAL_USCCS {
        let u = Uscc::parse(code).unwrap_or_else(|e| panic!("{who} {code}: {e}"));
        assert_eq!(u.as_str(), *code);
        assert!(!u.is_legacy());
        assert!(u.warning().is_none());
    }
}

const ALPHABET: &str = "0123456789ABCDEFGHJKLMNPQRTUWXY";

#[test]
fn every_single_character_mistake_is_caught_by_the_check_character() {
    for (code, _) in REAL_USCCS {
        let chars: Vec<char> = code.chars().collect();
        for pos in 0..18 {
            for c in ALPHABET.chars().filter(|&c| c != chars[pos]) {
                let mut m = chars.clone();
                m[pos] = c;
                let mutated: String = m.into_iter().collect();
                assert!(
                    matches!(Uscc::parse(&mutated), Err(IdError::UsccCheck { .. })),
                    "{mutated} (from {code}, position {}) was accepted",
                    pos + 1
                );
            }
        }
    }
}

#[test]
fn adjacent_transpositions_are_caught() {
    for (code, _) in REAL_USCCS {
        let chars: Vec<char> = code.chars().collect();
        for pos in 0..17 {
            if chars[pos] == chars[pos + 1] {
                continue;
            }
            let mut m = chars.clone();
            m.swap(pos, pos + 1);
            let mutated: String = m.into_iter().collect();
            assert!(Uscc::parse(&mutated).is_err(), "{mutated} accepted");
        }
    }
}

#[test]
fn check_character_names_the_expected_value() {
    assert_eq!(
        Uscc::parse("914403001922038217"),
        Err(IdError::UsccCheck {
            expected: '6',
            found: '7'
        })
    );
}

#[test]
fn forbidden_letters_are_named_with_their_position() {
    for bad in ['I', 'O', 'S', 'V', 'Z'] {
        let code = format!("91440300192203821{bad}");
        assert_eq!(
            Uscc::parse(&code),
            Err(IdError::UsccCharacter {
                position: 18,
                ch: bad
            })
        );
    }
    assert_eq!(
        Uscc::parse("9144030019220382中6"),
        Err(IdError::UsccCharacter {
            position: 17,
            ch: '中'
        })
    );
}

#[test]
fn wrong_lengths_are_refused_with_the_length() {
    assert_eq!(Uscc::parse(""), Err(IdError::UsccLength(0)));
    assert_eq!(
        Uscc::parse("91440300192203821"),
        Err(IdError::UsccLength(17))
    );
    assert_eq!(
        Uscc::parse("9144030019220382166"),
        Err(IdError::UsccLength(19))
    );
}

#[test]
fn lower_case_and_spaces_around_are_normalised() {
    let u = Uscc::parse("  9144030071526726xg ").unwrap();
    assert_eq!(u.as_str(), "9144030071526726XG");
}

#[test]
fn old_fifteen_digit_registration_numbers_pass_with_a_warning() {
    let u = Uscc::parse("440301103016254").unwrap();
    assert!(u.is_legacy());
    assert!(u.warning().unwrap().contains("旧版15位"));
    assert_eq!(
        Uscc::parse("44030110301625X"),
        Err(IdError::LegacyRegistrationDigits)
    );
}

#[test]
fn uscc_serde_refuses_invalid_values() {
    let ok: Uscc = serde_json::from_str("\"914403001922038216\"").unwrap();
    assert_eq!(ok.as_str(), "914403001922038216");
    assert!(serde_json::from_str::<Uscc>("\"914403001922038217\"").is_err());
}

#[test]
fn production_licences() {
    let l = ProductionLicence::parse("(鄂)XK12-001-00018").unwrap();
    assert_eq!(l.kind(), LicenceKind::Industrial);
    // Full-width brackets as typed on a Chinese keyboard.
    let l = ProductionLicence::parse("（渝）XK06-014-00123").unwrap();
    assert_eq!(l.as_str(), "(渝)XK06-014-00123");
    assert!(ProductionLicence::parse("XK12-001-00018").is_ok());
    assert!(ProductionLicence::parse("xk12-001-00018").is_ok());
    let food = ProductionLicence::parse("SC10650010600019").unwrap();
    assert_eq!(food.kind(), LicenceKind::Food);

    for bad in [
        "XK12-001-0001",
        "XK1-001-00018",
        "XK12-0011-00018",
        "XK12001-00018",
        "QS12-001-00018",
        "XK12-001-00018-1",
        "XKAB-001-00018",
        "SC1065001060001",
        "",
    ] {
        assert_eq!(
            ProductionLicence::parse(bad),
            Err(IdError::LicenceFormat),
            "{bad}"
        );
    }
    assert_eq!(
        ProductionLicence::parse("(火)XK12-001-00018"),
        Err(IdError::LicenceProvince("火".into()))
    );
}

#[test]
fn ccc_certificates() {
    let c = CccCertificate::parse("2021010703123456").unwrap();
    assert_eq!(c.year(), 2021);
    assert_eq!(c.body(), "01");
    assert_eq!(c.product_code(), "0703");
    for bad in [
        "202101070312345",
        "20210107031234567",
        "2021O10703123456",
        "",
    ] {
        assert_eq!(CccCertificate::parse(bad), Err(IdError::CccFormat), "{bad}");
    }
    assert_eq!(
        CccCertificate::parse("1999010703123456"),
        Err(IdError::CccYear(1999))
    );
}

#[test]
fn every_error_has_a_distinct_code() {
    let errors = [
        IdError::UsccLength(1),
        IdError::UsccCharacter {
            position: 1,
            ch: 'I',
        },
        IdError::UsccCheck {
            expected: '1',
            found: '2',
        },
        IdError::LegacyRegistrationDigits,
        IdError::LicenceFormat,
        IdError::LicenceProvince("x".into()),
        IdError::CccFormat,
        IdError::CccYear(1),
        IdError::Sha256Format,
        IdError::Uuid,
    ];
    let mut codes: Vec<_> = errors.iter().map(|e| e.code()).collect();
    codes.sort();
    codes.dedup();
    assert_eq!(codes.len(), errors.len());
}
