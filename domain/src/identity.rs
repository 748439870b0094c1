//! Validated values that identify people and organisations.

use crate::RuleError;

/// A user's account state, separate from their organisation's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UserStatus {
    Active,
    /// Invited by an organisation admin; becomes active when the invitation is accepted.
    Invited,
    /// Stopped by an organisation admin: cannot log in, and every session of theirs has ended.
    Deactivated,
}

impl UserStatus {
    pub const ALL: [Self; 3] = [Self::Active, Self::Invited, Self::Deactivated];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "ACTIVE",
            Self::Invited => "INVITED",
            Self::Deactivated => "DEACTIVATED",
        }
    }

    pub fn parse(value: &str) -> Result<Self, RuleError> {
        Self::ALL
            .into_iter()
            .find(|status| status.as_str() == value)
            .ok_or_else(|| RuleError::invalid("status", format!("unknown user status {value:?}")))
    }
}

/// Trims `value` and checks its length in characters and that it holds no control characters.
pub fn bounded_text(field: &'static str, value: &str, min: usize, max: usize) -> Result<String, RuleError> {
    let trimmed = value.trim();
    let length = trimmed.chars().count();
    if length < min {
        return Err(if min == 1 {
            RuleError::invalid(field, "must not be empty")
        } else {
            RuleError::invalid(field, format!("must be at least {min} characters"))
        });
    }
    if length > max {
        return Err(RuleError::invalid(field, format!("must be at most {max} characters")));
    }
    if trimmed.chars().any(char::is_control) {
        return Err(RuleError::invalid(field, "must not contain control characters"));
    }
    if trimmed.chars().any(is_bidirectional_control) {
        return Err(RuleError::invalid(field, "must not contain characters that change the direction of text"));
    }
    if min > 0 && trimmed.chars().all(|c| c.is_whitespace() || is_invisible(c)) {
        return Err(RuleError::invalid(field, "must contain visible characters"));
    }
    Ok(trimmed.to_owned())
}

/// Bidirectional embeddings, overrides and isolates: they can make a name read as something else (a right-to-left
/// override turns "exe.txt" around).
fn is_bidirectional_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}' | '\u{061C}')
}

/// Characters that take no space on screen: zero-width spaces and joiners, word joiners, the byte-order mark, the
/// soft hyphen. Allowed inside visible text (some scripts need joiners), never as all of it.
fn is_invisible(c: char) -> bool {
    matches!(c, '\u{200B}'..='\u{200D}' | '\u{2060}'..='\u{2064}' | '\u{FEFF}' | '\u{00AD}' | '\u{180E}')
}

/// Optional free text: blank becomes `None`.
pub fn optional_text(field: &'static str, value: Option<&str>, max: usize) -> Result<Option<String>, RuleError> {
    match value.map(str::trim) {
        None | Some("") => Ok(None),
        Some(text) => bounded_text(field, text, 1, max).map(Some),
    }
}

/// An e-mail address, trimmed and lower-cased so that one mailbox is one account.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

impl Email {
    pub fn parse(value: &str) -> Result<Self, RuleError> {
        let candidate = value.trim().to_lowercase();
        let invalid = || RuleError::invalid("email", "is not a valid e-mail address");
        if candidate.len() > 254 || candidate.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(invalid());
        }
        // The address as RFC 5322 allows it (a maintained parser), then the stricter shape mail systems deliver to.
        if !email_address::EmailAddress::is_valid(&candidate) {
            return Err(invalid());
        }
        let (local, domain) = candidate.split_once('@').ok_or_else(invalid)?;
        let plain = |part: &str| part.chars().all(|c| c.is_alphanumeric() || "._%+-'".contains(c));
        if !plain(local) || !domain.chars().all(|c| c.is_alphanumeric() || c == '.' || c == '-') {
            return Err(invalid());
        }
        let domain_ok = !domain.contains('@')
            && domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains("..");
        if local.is_empty() || local.len() > 64 || !domain_ok {
            return Err(invalid());
        }
        Ok(Self(candidate))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A password as typed by its owner; only its argon2id hash is ever stored.
pub struct Password(String);

impl Password {
    pub const MIN_CHARS: usize = 10;
    pub const MAX_CHARS: usize = 128;

    /// The lowest strength estimate (zxcvbn, 0–4) a password may have: 3 is "safely unguessable" against an
    /// online attack with throttling and a slow hash.
    pub const MIN_SCORE: u8 = 3;

    /// A new password for the person named by `personal` (their e-mail address, name): 10 to 128 characters, no
    /// control characters, not containing their address or name, and hard to guess.
    pub fn parse(value: &str, personal: &[&str]) -> Result<Self, RuleError> {
        let weak = |message: String| RuleError::invalid("password", message);
        let length = value.chars().count();
        if length < Self::MIN_CHARS {
            return Err(weak(format!("must be at least {} characters", Self::MIN_CHARS)));
        }
        if length > Self::MAX_CHARS {
            return Err(weak(format!("must be at most {} characters", Self::MAX_CHARS)));
        }
        if value.chars().any(char::is_control) {
            return Err(weak("must not contain control characters".into()));
        }
        let lowered = value.to_lowercase();
        let mut words: Vec<String> = Vec::new();
        for item in personal {
            let item = item.trim().to_lowercase();
            if let Some((local, _)) = item.split_once('@') {
                words.push(local.to_owned());
            }
            words.extend(item.split_whitespace().map(str::to_owned));
            words.push(item);
        }
        if words.iter().any(|word| word.chars().count() >= 4 && lowered.contains(word.as_str())) {
            return Err(weak("must not contain your e-mail address or name".into()));
        }
        let inputs: Vec<&str> = words.iter().map(String::as_str).collect();
        let estimate = zxcvbn::zxcvbn(value, &inputs);
        if u8::from(estimate.score()) < Self::MIN_SCORE {
            let hint = estimate.feedback().and_then(|f| f.warning()).map(|w| format!(" ({w})")).unwrap_or_default();
            return Err(weak(format!("is too easy to guess{hint}: use a longer phrase of unrelated words")));
        }
        Ok(Self(value.to_owned()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

// A password never appears in logs or debug output.
impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

/// A person's display name.
pub fn person_name(value: &str) -> Result<String, RuleError> {
    bounded_text("name", value, 1, 100)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_is_normalised_to_one_mailbox() {
        let email = Email::parse("  Siti.Rahayu@Koperasi.Example ").unwrap();
        assert_eq!(email.as_str(), "siti.rahayu@koperasi.example");
    }

    #[test]
    fn malformed_emails_are_refused() {
        for bad in ["", "no-at-sign", "@example.id", "a@", "a@b", "a b@example.id", "a@@example.id", "a@.example.id"] {
            assert!(Email::parse(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn short_and_huge_passwords_are_refused() {
        assert!(Password::parse("short", &[]).is_err());
        assert!(Password::parse(&"x".repeat(129), &[]).is_err());
        assert!(Password::parse("sepuluh-karakter-hujan-pagi", &[]).is_ok());
    }

    #[test]
    fn weak_and_personal_passwords_are_refused_with_a_reason() {
        let siti = ["siti.rahayu@koperasi.example", "Siti Rahayu"];
        let refused =
            |password: &str| Password::parse(password, &siti).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(refused("1234567890").contains("too easy to guess"), "{}", refused("1234567890"));
        assert!(refused("\0\0\0\0\0\0\0\0\0\0\0\0").contains("control characters"));
        assert!(refused("siti.rahayu@koperasi.example").contains("e-mail address or name"));
        assert!(refused("Rahayu-sawah-hijau-42").contains("e-mail address or name"));
        assert!(refused("passwordpassword").contains("too easy to guess"));
        // The test suite's and the demo's passwords are strong enough.
        for good in ["kata-sandi-yang-kuat-1", "lumbung-demo-2026", "benar-sekali-123"] {
            assert!(Password::parse(good, &siti).is_ok(), "{good}: {}", refused(good));
        }
    }

    #[test]
    fn names_must_show_themselves_and_read_one_way() {
        assert!(bounded_text("name", "\u{200B}\u{200B}\u{200B}", 1, 100).is_err());
        assert!(bounded_text("name", "Koperasi \u{202E}tupmoc", 1, 100).is_err());
        assert!(bounded_text("name", "\u{2066}Bumiayu\u{2069}", 1, 100).is_err());
        assert!(bounded_text("name", "Koperasi Merah Putih Bumiayu", 1, 100).is_ok());
        assert!(bounded_text("name", "Toko Sembako Bu Sri", 1, 100).is_ok());
    }

    #[test]
    fn addresses_with_markup_are_refused() {
        for bad in ["<script>@kmp.demo", "a\"b@kmp.demo", "siti@kmp.demo>", "siti@<kmp>.demo"] {
            assert!(Email::parse(bad).is_err(), "{bad:?} should be refused");
        }
        assert!(Email::parse("o'brien+koperasi@kmp.demo").is_ok());
    }

    #[test]
    fn password_debug_output_is_redacted() {
        let password = Password::parse("rahasia-sekali-123", &[]).unwrap();
        assert!(!format!("{password:?}").contains("rahasia"));
    }

    #[test]
    fn text_is_trimmed_and_bounded() {
        assert_eq!(bounded_text("name", "  Koperasi  ", 1, 20).unwrap(), "Koperasi");
        assert!(bounded_text("name", "   ", 1, 20).is_err());
        assert!(bounded_text("name", "abc\u{0}", 1, 20).is_err());
        assert!(bounded_text("name", &"a".repeat(21), 1, 20).is_err());
        assert_eq!(optional_text("note", Some("  "), 10).unwrap(), None);
    }
}
