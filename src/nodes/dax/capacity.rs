//! `ConsumedCapacity` on answers the cache gives. A client that asks for it
//! (`ReturnConsumedCapacity: TOTAL | INDEXES`) gets it, as DynamoDB would
//! give it; a hit reads no table, so it consumes 0 units. Before, a hit
//! dropped the field, and a query-cache hit returned whatever the miss
//! that filled it had been asked for (the query cache is shared between
//! requests that differ only in `ReturnConsumedCapacity`).

use serde_json::{Value, json};

/// What a request asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Asked {
    None,
    Total,
    Indexes,
}

impl Asked {
    pub fn of(request: &Value) -> Self {
        match request["ReturnConsumedCapacity"].as_str() {
            Some("TOTAL") => Asked::Total,
            Some("INDEXES") => Asked::Indexes,
            _ => Asked::None,
        }
    }

    /// What `table` consumed, `units` in all, in the shape asked for.
    pub fn entry(self, table: &str, units: f64) -> Option<Value> {
        match self {
            Asked::None => None,
            Asked::Total => Some(json!({ "TableName": table, "CapacityUnits": units })),
            Asked::Indexes => Some(json!({
                "TableName": table,
                "CapacityUnits": units,
                "Table": { "CapacityUnits": units },
            })),
        }
    }

    /// Set `answer`'s `ConsumedCapacity` to what the cache consumed for
    /// this request: 0 units if asked, nothing if not.
    pub fn hit(self, answer: &mut Value, table: &str) {
        let Some(m) = answer.as_object_mut() else {
            return;
        };
        match self.entry(table, 0.0) {
            Some(e) => m.insert("ConsumedCapacity".into(), e),
            None => m.remove("ConsumedCapacity"),
        };
    }

    /// BatchGetItem's list, one entry per table asked for: what DynamoDB
    /// said a table consumed for its misses (`upstream`, its answer's
    /// list), 0 for a table the cache answered whole.
    pub fn batch(self, tables: &[&String], upstream: &Value) -> Option<Value> {
        if self == Asked::None {
            return None;
        }
        let consumed = |table: &str| {
            upstream
                .as_array()
                .into_iter()
                .flatten()
                .find(|c| c["TableName"].as_str() == Some(table))
                .cloned()
        };
        let list = tables
            .iter()
            .filter_map(|t| consumed(t).or_else(|| self.entry(t, 0.0)))
            .collect();
        Some(Value::Array(list))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hit_consumes_nothing_and_says_so_only_when_asked() {
        let mut a =
            json!({"Item": {}, "ConsumedCapacity": {"TableName": "t", "CapacityUnits": 0.5}});
        Asked::of(&json!({})).hit(&mut a, "t");
        assert_eq!(a, json!({"Item": {}}));
        Asked::of(&json!({"ReturnConsumedCapacity": "TOTAL"})).hit(&mut a, "t");
        assert_eq!(
            a["ConsumedCapacity"],
            json!({"TableName": "t", "CapacityUnits": 0.0})
        );
        Asked::of(&json!({"ReturnConsumedCapacity": "INDEXES"})).hit(&mut a, "t");
        assert_eq!(
            a["ConsumedCapacity"]["Table"],
            json!({"CapacityUnits": 0.0})
        );
        Asked::of(&json!({"ReturnConsumedCapacity": "NONE"})).hit(&mut a, "t");
        assert!(a.get("ConsumedCapacity").is_none());
    }

    #[test]
    fn a_batch_lists_every_table_with_what_dynamodb_said() {
        let (a, b) = ("a".to_string(), "b".to_string());
        let upstream = json!([{"TableName": "b", "CapacityUnits": 1.5}]);
        let list = Asked::Total.batch(&[&a, &b], &upstream).unwrap();
        assert_eq!(
            list,
            json!([
                {"TableName": "a", "CapacityUnits": 0.0},
                {"TableName": "b", "CapacityUnits": 1.5},
            ])
        );
        assert_eq!(Asked::None.batch(&[&a], &upstream), None);
    }
}
