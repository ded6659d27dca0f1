//! JSON values as authlib's Python code meets them: truthiness, `==`, what
//! counts as a number, the wording of the exceptions it raises, and
//! `urlsafe_b64decode`. Shared by the key reader (`oidc::jwk`) and the
//! ID-token rules (`oidc::id_token`).

use serde_json::Value;

/// Python truthiness of a JSON value.
pub fn truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64() != Some(0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
    }
}

/// `isinstance(v, (int, float))`: JSON numbers, and booleans (Python's bool
/// is an int).
pub fn number(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::Bool(b) => Some(f64::from(u8::from(*b))),
        _ => None,
    }
}

/// Python `==` on JSON values (numbers and booleans compare by value).
pub fn eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| eq(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| eq(v, w)))
        }
        _ => match (number(a), number(b)) {
            (Some(x), Some(y)) => x == y,
            _ => a == b,
        },
    }
}

/// Whether an exception is a `ValueError` (or one of its subclasses that
/// authlib's code can raise), which makes `parse_id_token` fetch the key set
/// again.
pub fn is_value_error(exception: &str) -> bool {
    ["ValueError", "binascii.Error", "UnicodeEncodeError"]
        .iter()
        .any(|class| exception.starts_with(class))
}

/// The Python type name, as a `TypeError` prints it.
pub fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "NoneType",
        Value::Bool(_) => "bool",
        Value::Number(n) if n.is_f64() => "float",
        Value::Number(_) => "int",
        Value::String(_) => "str",
        Value::Array(_) => "list",
        Value::Object(_) => "dict",
    }
}

/// Python's `repr` of a scalar, as a `KeyError` prints it.
pub fn repr(v: &Value) -> String {
    match v {
        Value::String(s) => repr_str(s),
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        Value::Null => "None".into(),
        other => other.to_string(),
    }
}

/// Python's `repr` of a string: in single quotes, or double quotes when it
/// holds a single quote and no double one; backslashes and that quote
/// escaped, and every character that is not [`printable`] as `\t`, `\n`,
/// `\r`, `\xhh`, `\uhhhh` or `\Uhhhhhhhh`.
fn repr_str(s: &str) -> String {
    let quote = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::with_capacity(s.len() + 2);
    out.push(quote);
    for c in s.chars() {
        let code = u32::from(c);
        match c {
            '\\' => out.push_str("\\\\"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c if printable(c) => out.push(c),
            _ if code < 0x100 => out.push_str(&format!("\\x{code:02x}")),
            _ if code < 0x10000 => out.push_str(&format!("\\u{code:04x}")),
            _ => out.push_str(&format!("\\U{code:08x}")),
        }
    }
    out.push(quote);
    out
}

/// Python's `str.isprintable` for one character: all but the Unicode
/// categories Other (controls, format characters, unassigned code points, …)
/// and Separator, except the ASCII space. Go's `strconv.IsPrint` is the same
/// set, so compose's `%q` quoting (`envfile`) uses it too.
pub fn printable(c: char) -> bool {
    use icu_properties::CodePointMapData;
    use icu_properties::props::{GeneralCategory, GeneralCategoryGroup as G};
    let category = CodePointMapData::<GeneralCategory>::new().get(c);
    c == ' ' || !(G::Other.contains(category) || G::Separator.contains(category))
}

/// authlib's `to_bytes`: a string as UTF-8, a number or a boolean as its
/// Python `str`, anything else through `bytes()`, which takes a list of
/// small integers (or an empty dict) and raises for the rest. `None` stays
/// `None` in authlib, and the base64 decoding after it raises. `Err` is the
/// exception.
pub fn to_bytes(v: &Value) -> Result<Vec<u8>, String> {
    let not_int = |item: &Value| {
        format!(
            "TypeError: '{}' object cannot be interpreted as an integer",
            type_name(item)
        )
    };
    match v {
        Value::String(s) => Ok(s.as_bytes().to_vec()),
        Value::Bool(true) => Ok(b"True".to_vec()),
        Value::Bool(false) => Ok(b"False".to_vec()),
        Value::Number(n) => Ok(n.to_string().into_bytes()),
        Value::Null => Err("TypeError: object of type 'NoneType' has no len()".into()),
        Value::Array(items) => items
            .iter()
            .map(|item| match (item, number(item)) {
                (Value::Number(n), _) if n.is_f64() => Err(not_int(item)),
                (_, Some(n)) if (0.0..256.0).contains(&n) => Ok(n as u8),
                (_, Some(_)) => Err("ValueError: bytes must be in range(0, 256)".into()),
                _ => Err(not_int(item)),
            })
            .collect(),
        // bytes() of a dict iterates its keys, which are strings.
        Value::Object(o) if o.is_empty() => Ok(Vec::new()),
        Value::Object(_) => Err(not_int(&Value::String(String::new()))),
    }
}

/// authlib's `urlsafe_b64decode` (pad to a multiple of 4, then CPython's
/// non-strict `binascii.a2b_base64`): both alphabets, other bytes skipped, a
/// premature `=` ignored, decoding stops at the first complete padding, unused
/// low bits ignored. `Err` is the `binascii.Error` Python raises.
pub fn b64decode(text: &[u8]) -> Result<Vec<u8>, String> {
    let padding = (4 - text.len() % 4) % 4;
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let (mut quad, mut left, mut pads) = (0u8, 0u8, 0u8);
    for &c in text.iter().chain(std::iter::repeat_n(&b'=', padding)) {
        if c == b'=' {
            if quad >= 2 {
                pads += 1;
                if quad + pads >= 4 {
                    return Ok(out);
                }
            }
            continue;
        }
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            _ => continue,
        };
        pads = 0;
        // Six bits a character; every character after a quad's first completes a byte.
        match quad {
            0 => left = v,
            1 => {
                out.push((left << 2) | (v >> 4));
                left = v & 0x0f;
            }
            2 => {
                out.push((left << 4) | (v >> 2));
                left = v & 0x03;
            }
            _ => out.push((left << 6) | v),
        }
        quad = (quad + 1) % 4;
    }
    match quad {
        0 => Ok(out),
        1 => Err(format!(
            "binascii.Error: Invalid base64-encoded string: number of data characters ({}) cannot be 1 more than a multiple of 4",
            out.len() / 3 * 4 + 1
        )),
        _ => Err("binascii.Error: Incorrect padding".into()),
    }
}

/// A JSON type as a message names it.
pub fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// A value as shown in a message (JSON, cut short).
pub fn shown(v: &Value) -> String {
    let text = v.to_string();
    match text.char_indices().nth(80) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_equality_and_truthiness() {
        use serde_json::json;
        assert!(eq(&json!(1), &json!(true)));
        assert!(eq(&json!(5), &json!(5.0)));
        assert!(!eq(&json!("5"), &json!(5)));
        assert!(eq(&json!([1, {"a": true}]), &json!([1.0, {"a": 1}])));
        for falsy in [
            json!(null),
            json!(0),
            json!(""),
            json!([]),
            json!({}),
            json!(false),
        ] {
            assert!(!truthy(&falsy), "{falsy}");
        }
        assert!(truthy(&json!("sig")) && truthy(&json!([0])));
    }

    /// CPython 3.13's `repr(s)` for each, as run.
    #[test]
    fn repr_is_pythons() {
        for (text, shown) in [
            ("it's", "\"it's\""),
            ("say \"hi\"", "'say \"hi\"'"),
            ("both ' and \"", "'both \\' and \"'"),
            ("back\\slash", "'back\\\\slash'"),
            ("it's a\\b", "\"it's a\\\\b\""),
            ("tab\u{9}here\u{a}", "'tab\\there\\n'"),
            ("\u{7f}\u{0}\u{1b}", "'\\x7f\\x00\\x1b'"),
            ("nbsp\u{a0}soft\u{ad}end", "'nbsp\\xa0soft\\xadend'"),
            ("\u{e9}\u{65e5}\u{672c}", "'\u{e9}\u{65e5}\u{672c}'"),
            ("\u{2028}", "'\\u2028'"),
            ("\u{1f980}", "'\u{1f980}'"),
            ("\u{e0001}", "'\\U000e0001'"),
            ("\u{feff}", "'\\ufeff'"),
            ("\u{378}", "'\\u0378'"),
            ("\u{10ffff}", "'\\U0010ffff'"),
        ] {
            assert_eq!(repr(&Value::String(text.into())), shown, "{text:?}");
        }
        use serde_json::json;
        assert_eq!(repr(&json!(true)), "True");
        assert_eq!(repr(&json!(null)), "None");
        assert_eq!(repr(&json!(5)), "5");
    }

    /// authlib 1.6.12's `to_bytes(v)` on CPython 3.13 for each, as run.
    #[test]
    fn to_bytes_is_authlibs() {
        use serde_json::json;
        let not_int = |t: &str| {
            Err(format!(
                "TypeError: '{t}' object cannot be interpreted as an integer"
            ))
        };
        let range = || Err("ValueError: bytes must be in range(0, 256)".to_string());
        for (value, bytes) in [
            (json!("é"), Ok(vec![0xc3, 0xa9])),
            (json!(true), Ok(b"True".to_vec())),
            (json!(false), Ok(b"False".to_vec())),
            (json!(5), Ok(b"5".to_vec())),
            (json!(1.5), Ok(b"1.5".to_vec())),
            (json!([1, 2, 255]), Ok(vec![1, 2, 255])),
            (json!([]), Ok(Vec::new())),
            (json!({}), Ok(Vec::new())),
            (json!([true]), Ok(vec![1])),
            (json!({"a": 1}), not_int("str")),
            (json!([1.0]), not_int("float")),
            (json!(["a"]), not_int("str")),
            (json!([null]), not_int("NoneType")),
            (json!([256]), range()),
            (json!([-1]), range()),
            // None passes through, and the base64 decoding after it raises.
            (
                json!(null),
                Err("TypeError: object of type 'NoneType' has no len()".into()),
            ),
        ] {
            assert_eq!(to_bytes(&value), bytes, "{value}");
        }
    }

    #[test]
    fn numbers_types_and_value_errors_as_python_sees_them() {
        use serde_json::json;
        assert_eq!(number(&json!(true)), Some(1.0));
        assert_eq!(number(&json!(2.5)), Some(2.5));
        assert_eq!(number(&json!("1")), None);
        for (value, name) in [
            (json!(null), "NoneType"),
            (json!(false), "bool"),
            (json!(1), "int"),
            (json!(1.0), "float"),
            (json!("x"), "str"),
            (json!([]), "list"),
            (json!({}), "dict"),
        ] {
            assert_eq!(type_name(&value), name, "{value}");
        }
        assert!(is_value_error("ValueError: Key not found"));
        assert!(is_value_error("binascii.Error: Incorrect padding"));
        assert!(!is_value_error("TypeError: unhashable type: 'list'"));
        let long = json!("x".repeat(100));
        assert_eq!(shown(&long).chars().count(), 81);
        assert!(shown(&long).ends_with('…'));
        assert_eq!(shown(&json!("short")), "\"short\"");
    }
}
