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
        Value::String(s) if s.contains('\'') && !s.contains('"') => format!("\"{s}\""),
        Value::String(s) => format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'")),
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        Value::Null => "None".into(),
        other => other.to_string(),
    }
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
}
