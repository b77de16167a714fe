//! `page`, `page-size`, `sort` and `filter` on the list endpoints.

use std::cmp::Ordering;

use serde::Serialize;

use crate::error::SimError;
use crate::rsql::{self, Expr, FieldKind};

/// Default `page-size`.
pub(crate) const DEFAULT_PAGE_SIZE: usize = 100;
/// Larger `page-size` values are clamped to this.
pub(crate) const MAX_PAGE_SIZE: usize = 2000;

const FIELDS: &[(&str, FieldKind)] = &[("id", FieldKind::Int), ("displayName", FieldKind::Str)];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SortField {
    Id,
    DisplayName,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct SortKey {
    field: SortField,
    desc: bool,
}

/// A parsed list query.
#[derive(Debug)]
pub(crate) struct ListQuery {
    page: usize,
    page_size: usize,
    sort: Vec<SortKey>,
    filter: Option<Expr>,
}

/// A list body: `{"totalCount": N, "results": [...]}`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ListResult<T> {
    pub total_count: usize,
    pub results: Vec<T>,
}

/// Something a list endpoint returns.
pub(crate) trait Listed: rsql::Record {
    fn list_id(&self) -> u64;
    fn list_name(&self) -> &str;
}

fn last<'a>(query: &'a [(String, String)], key: &str) -> Option<&'a str> {
    query
        .iter()
        .rev()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

fn non_negative(field: &str, v: &str) -> Result<usize, SimError> {
    let n: i64 = v
        .trim()
        .parse()
        .map_err(|_| SimError::invalid_field(field, format!("{field} must be an integer")))?;
    usize::try_from(n)
        .map_err(|_| SimError::invalid_field(field, format!("{field} must not be negative")))
}

impl ListQuery {
    /// Parses the query parameters of a list request.
    pub(crate) fn parse(query: &[(String, String)]) -> Result<Self, SimError> {
        let page = match last(query, "page") {
            Some(v) => non_negative("page", v)?,
            None => 0,
        };
        let size = last(query, "page-size")
            .map(|v| ("page-size", v))
            .or_else(|| last(query, "size").map(|v| ("size", v)))
            .or_else(|| last(query, "pagesize").map(|v| ("pagesize", v)));
        let page_size = match size {
            Some((name, v)) => non_negative(name, v)?.min(MAX_PAGE_SIZE),
            None => DEFAULT_PAGE_SIZE,
        };
        let mut sort = Vec::new();
        for (_, v) in query.iter().filter(|(k, _)| k == "sort") {
            for item in v.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                sort.push(parse_sort(item)?);
            }
        }
        if sort.is_empty() {
            sort.push(SortKey {
                field: SortField::Id,
                desc: false,
            });
        }
        let filter = match last(query, "filter") {
            Some(f) => {
                let expr =
                    rsql::parse(f).map_err(|e| SimError::invalid_field("filter", e.to_string()))?;
                if let Some(e) = &expr {
                    e.check_fields(FIELDS)
                        .map_err(|e| SimError::invalid_field("filter", e.to_string()))?;
                }
                expr
            }
            None => None,
        };
        Ok(Self {
            page,
            page_size,
            sort,
            filter,
        })
    }

    /// Filters, sorts and pages `items`; returns the total match count and the page.
    pub(crate) fn apply<'a, T: Listed>(
        &self,
        items: impl Iterator<Item = &'a T>,
    ) -> (usize, Vec<&'a T>) {
        let matching: Vec<&T> = match &self.filter {
            Some(f) => items.filter(|t| f.matches(*t)).collect(),
            None => items.collect(),
        };
        let total = matching.len();
        let by_name = self.sort.iter().any(|k| k.field == SortField::DisplayName);
        let mut keyed: Vec<(&T, String)> = matching
            .into_iter()
            .map(|t| {
                let key = if by_name {
                    t.list_name().to_lowercase()
                } else {
                    String::new()
                };
                (t, key)
            })
            .collect();
        keyed.sort_by(|(a, ak), (b, bk)| {
            for k in &self.sort {
                let ord = match k.field {
                    SortField::Id => a.list_id().cmp(&b.list_id()),
                    SortField::DisplayName => ak.cmp(bk),
                };
                let ord = if k.desc { ord.reverse() } else { ord };
                if ord != Ordering::Equal {
                    return ord;
                }
            }
            a.list_id().cmp(&b.list_id())
        });
        let start = self.page.saturating_mul(self.page_size);
        let page = keyed
            .into_iter()
            .skip(start)
            .take(self.page_size)
            .map(|(t, _)| t)
            .collect();
        (total, page)
    }
}

fn parse_sort(item: &str) -> Result<SortKey, SimError> {
    let (name, dir) = match item.split_once(':') {
        Some((n, d)) => (n.trim(), d.trim()),
        None => (item, "asc"),
    };
    let field = match name {
        "id" => SortField::Id,
        "displayName" => SortField::DisplayName,
        other => {
            return Err(SimError::invalid_field(
                "sort",
                format!("sort field '{other}' is not allowed; allowed fields: id, displayName"),
            ));
        }
    };
    let desc = if dir.eq_ignore_ascii_case("asc") {
        false
    } else if dir.eq_ignore_ascii_case("desc") {
        true
    } else {
        return Err(SimError::invalid_field(
            "sort",
            format!("sort direction '{dir}' must be asc or desc"),
        ));
    };
    Ok(SortKey { field, desc })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rsql::FieldValue;

    struct Item(u64, &'static str);

    impl rsql::Record for Item {
        fn field(&self, name: &str) -> Option<FieldValue<'_>> {
            match name {
                "id" => Some(FieldValue::Int(self.0)),
                "displayName" => Some(FieldValue::Str(self.1)),
                _ => None,
            }
        }
    }

    impl Listed for Item {
        fn list_id(&self) -> u64 {
            self.0
        }
        fn list_name(&self) -> &str {
            self.1
        }
    }

    fn q(pairs: &[(&str, &str)]) -> Result<ListQuery, SimError> {
        let v: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        ListQuery::parse(&v)
    }

    fn ids(q: &ListQuery, items: &[Item]) -> (usize, Vec<u64>) {
        let (t, page) = q.apply(items.iter());
        (t, page.iter().map(|i| i.0).collect())
    }

    fn items() -> Vec<Item> {
        vec![Item(10, "b"), Item(2, "A"), Item(1, "c"), Item(3, "a")]
    }

    #[test]
    fn default_sort_is_numeric_id() {
        assert_eq!(ids(&q(&[]).unwrap(), &items()), (4, vec![1, 2, 3, 10]));
    }

    #[test]
    fn multi_criteria_sort() {
        let query = q(&[("sort", "displayName:desc,id:asc")]).unwrap();
        assert_eq!(ids(&query, &items()), (4, vec![1, 10, 2, 3]));
        let query = q(&[("sort", "displayName:asc"), ("sort", "id:desc")]).unwrap();
        assert_eq!(ids(&query, &items()), (4, vec![3, 2, 10, 1]));
        let query = q(&[("sort", "id:DESC")]).unwrap();
        assert_eq!(ids(&query, &items()), (4, vec![10, 3, 2, 1]));
    }

    #[test]
    fn paging_and_aliases() {
        let query = q(&[("page", "1"), ("page-size", "3")]).unwrap();
        assert_eq!(ids(&query, &items()), (4, vec![10]));
        let query = q(&[("page", "0"), ("size", "2")]).unwrap();
        assert_eq!(ids(&query, &items()), (4, vec![1, 2]));
        let query = q(&[("pagesize", "1")]).unwrap();
        assert_eq!(ids(&query, &items()), (4, vec![1]));
        let query = q(&[("page-size", "99999")]).unwrap();
        assert_eq!(query.page_size, MAX_PAGE_SIZE);
    }

    #[test]
    fn bad_parameters() {
        assert!(q(&[("page", "x")]).is_err());
        assert!(q(&[("page", "-1")]).is_err());
        assert!(q(&[("page-size", "-5")]).is_err());
        assert!(q(&[("sort", "name:asc")]).is_err());
        assert!(q(&[("sort", "id:up")]).is_err());
        assert!(q(&[("filter", "id==")]).is_err());
        assert!(q(&[("filter", "name==x")]).is_err());
    }

    #[test]
    fn filter_counts_all_matches() {
        let query = q(&[("filter", "displayName==a"), ("page-size", "1")]).unwrap();
        assert_eq!(ids(&query, &items()), (2, vec![2]));
    }
}
