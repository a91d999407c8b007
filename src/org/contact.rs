//! Phone numbers and e-mail addresses as township tables write them.

/// Normalises a Chinese phone number: an 11-digit mobile, or a landline with area code.
/// Spaces, hyphens and a leading +86 are accepted on input; mobiles are stored as bare digits
/// and landlines as `area-number` so they stay readable.
pub fn parse_phone(raw: &str) -> Result<String, String> {
    let trimmed = raw.trim();
    let mut digits: String = trimmed
        .chars()
        .filter(|c| !matches!(c, ' ' | '-' | '(' | ')' | '\u{3000}'))
        .collect();
    if let Some(rest) = digits
        .strip_prefix("+86")
        .or_else(|| digits.strip_prefix("0086"))
    {
        digits = rest.to_owned();
    }
    if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit()) {
        return Err(format!("电话号码 \"{trimmed}\" 含有非数字字符"));
    }
    if digits.len() == 11 && digits.starts_with('1') {
        if !matches!(digits.as_bytes()[1], b'3'..=b'9') {
            return Err(format!("手机号码 \"{trimmed}\" 的号段不存在"));
        }
        return Ok(digits);
    }
    if digits.starts_with('0') && (10..=12).contains(&digits.len()) {
        // Area codes are three digits for the big cities (010, 02x) and four elsewhere.
        let area_len = if digits.starts_with("01") || digits.starts_with("02") {
            3
        } else {
            4
        };
        return Ok(format!("{}-{}", &digits[..area_len], &digits[area_len..]));
    }
    Err(format!(
        "电话号码 \"{trimmed}\" 既不是 11 位手机号, 也不是带区号的固定电话"
    ))
}

/// Checks the shape of an e-mail address (one `@`, a dotted domain, no spaces) and lowercases
/// the domain. Deliverability is for the mailer to find out.
pub fn parse_email(raw: &str) -> Result<String, String> {
    let trimmed = raw.trim();
    let bad = || format!("邮箱地址 \"{trimmed}\" 格式不正确");
    let (local, domain) = trimmed.rsplit_once('@').ok_or_else(bad)?;
    let domain_ok = domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains("..")
        && domain
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.');
    let local_ok = !local.is_empty()
        && local.len() <= 64
        && !local.contains('@')
        && local
            .chars()
            .all(|c| c.is_ascii_graphic() && c != '<' && c != '>' && c != ',');
    if !domain_ok || !local_ok || trimmed.len() > 254 {
        return Err(bad());
    }
    Ok(format!("{local}@{}", domain.to_ascii_lowercase()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phones() {
        assert_eq!(parse_phone("138 0000 0001").unwrap(), "13800000001");
        assert_eq!(parse_phone("+86 139-1234-5678").unwrap(), "13912345678");
        assert_eq!(parse_phone("0851-22345678").unwrap(), "0851-22345678");
        assert_eq!(parse_phone("01088889999").unwrap(), "010-88889999");
        for bad in [
            "",
            "12345",
            "1380000000",
            "12800000001",
            "138000000012",
            "电话",
            "13800000001x",
        ] {
            assert!(parse_phone(bad).is_err(), "{bad} should be rejected");
        }
    }

    #[test]
    fn emails() {
        assert_eq!(
            parse_email(" ZhangWei@Badu.GOV.cn ").unwrap(),
            "ZhangWei@badu.gov.cn"
        );
        for bad in [
            "", "a", "a@b", "@b.cn", "a b@c.cn", "a@b..cn", "a@.b.cn", "张@b.cn", "a@b.cn.",
        ] {
            assert!(parse_email(bad).is_err(), "{bad} should be rejected");
        }
    }
}
