//! Validated values that identify people and organisations.

use crate::RuleError;

/// A user's account state, separate from their organisation's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UserStatus {
    Active,
    /// Invited by an organisation admin; becomes active when the invitation is accepted.
    Invited,
}

impl UserStatus {
    pub const ALL: [Self; 2] = [Self::Active, Self::Invited];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "ACTIVE",
            Self::Invited => "INVITED",
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
    Ok(trimmed.to_owned())
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
        let (local, domain) = candidate.split_once('@').ok_or_else(invalid)?;
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

    pub fn parse(value: &str) -> Result<Self, RuleError> {
        let length = value.chars().count();
        if length < Self::MIN_CHARS {
            return Err(RuleError::invalid("password", format!("must be at least {} characters", Self::MIN_CHARS)));
        }
        if length > Self::MAX_CHARS {
            return Err(RuleError::invalid("password", format!("must be at most {} characters", Self::MAX_CHARS)));
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
        assert!(Password::parse("short").is_err());
        assert!(Password::parse(&"x".repeat(129)).is_err());
        assert!(Password::parse("sepuluh-karakter").is_ok());
    }

    #[test]
    fn password_debug_output_is_redacted() {
        let password = Password::parse("rahasia-sekali-123").unwrap();
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
