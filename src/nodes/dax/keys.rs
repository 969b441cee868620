//! Cache keys: the item cache is keyed by table and full primary key, the
//! query cache by the exact request parameters. JSON objects are written
//! with sorted keys so that equal requests make equal keys whatever order
//! the client serialised them in.

use serde_json::{Map, Value};

/// `value` as JSON with every object's keys sorted.
pub fn canonical(value: &Value) -> String {
    let mut out = String::new();
    write(value, &mut out);
    out
}

fn write(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(k.clone()).to_string());
                out.push(':');
                write(&map[k], out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write(v, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

/// Item-cache key of `key` (the attribute map of a primary key) in `table`.
pub fn item_key(table: &str, key: &Value) -> String {
    format!("{table}\u{0}{}", canonical(key))
}

/// The primary key of `item`: its attributes named in the table's key
/// schema. `None` when the item lacks one.
pub fn key_of(item: &Value, schema: &[String]) -> Option<Value> {
    let item = item.as_object()?;
    let mut key = Map::new();
    for name in schema {
        key.insert(name.clone(), item.get(name)?.clone());
    }
    Some(Value::Object(key))
}

/// Query-cache key: the operation and every request parameter except
/// those that do not change the answer.
pub fn query_key(op: &str, request: &Value) -> String {
    let mut r = request.clone();
    if let Some(m) = r.as_object_mut() {
        m.remove("ReturnConsumedCapacity");
    }
    format!("{op}\u{0}{}", canonical(&r))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn key_order_does_not_matter() {
        let a = json!({"pk": {"S": "x"}, "sk": {"S": "y"}});
        let b: Value = serde_json::from_str(r#"{"sk":{"S":"y"},"pk":{"S":"x"}}"#).unwrap();
        assert_eq!(item_key("t", &a), item_key("t", &b));
        assert_ne!(item_key("t", &a), item_key("u", &a));
    }

    #[test]
    fn the_key_of_an_item_follows_the_schema() {
        let item = json!({"pk": {"S": "x"}, "sk": {"S": "y"}, "data": {"S": "v"}});
        let key = key_of(&item, &["pk".into(), "sk".into()]).unwrap();
        assert_eq!(key, json!({"pk": {"S": "x"}, "sk": {"S": "y"}}));
        assert!(key_of(&item, &["nope".into()]).is_none());
    }

    #[test]
    fn consumed_capacity_does_not_split_the_query_cache() {
        let a = json!({"TableName": "t", "KeyConditionExpression": "pk = :p"});
        let b = json!({"TableName": "t", "KeyConditionExpression": "pk = :p", "ReturnConsumedCapacity": "TOTAL"});
        assert_eq!(query_key("Query", &a), query_key("Query", &b));
        assert_ne!(query_key("Query", &a), query_key("Scan", &a));
    }
}
