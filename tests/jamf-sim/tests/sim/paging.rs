//! Paging, sorting and RSQL filtering on the list endpoints, at scale.

use crate::common;

use common::*;
use jamf_sim::SimOptions;
use serde_json::{Value, json};

async fn list(
    http: &reqwest::Client,
    base: &str,
    t: &str,
    path: &str,
    query: &[(&str, &str)],
) -> reqwest::Response {
    http.get(format!("{base}{path}"))
        .bearer_auth(t)
        .query(query)
        .send()
        .await
        .unwrap()
}

fn ids(body: &Value) -> Vec<String> {
    body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| match &r["id"] {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        })
        .collect()
}

#[tokio::test]
async fn paging_4500_roles() {
    let sim = start_with(SimOptions {
        empty: true,
        ..opts()
    })
    .await;
    let inst = sim.instance(None);
    for i in 1..=4500 {
        inst.create_role(&format!("Role {i:04}"), ["Read API Roles"])
            .unwrap();
    }
    let (http, base) = (http(), sim.url());
    let t = admin_token(&http, &base).await;
    let path = "/api/v1/api-roles";

    let body = json(list(&http, &base, &t, path, &[]).await).await;
    assert_eq!(body["totalCount"], 4500);
    assert_eq!(
        body["results"].as_array().unwrap().len(),
        100,
        "default page-size"
    );
    assert_eq!(ids(&body)[..3], ["1", "2", "3"]);

    // clamp at 2000, totalCount stays right, the last page is short
    let mut seen = Vec::new();
    for page in 0.. {
        let p = page.to_string();
        let body = json(
            list(
                &http,
                &base,
                &t,
                path,
                &[("page", &p), ("page-size", "5000")],
            )
            .await,
        )
        .await;
        assert_eq!(body["totalCount"], 4500);
        let got = ids(&body);
        if got.is_empty() {
            break;
        }
        assert!(got.len() <= 2000);
        seen.extend(got);
    }
    assert_eq!(seen.len(), 4500);
    assert_eq!(seen.first().unwrap(), "1");
    assert_eq!(seen.last().unwrap(), "4500");

    // ids sort numerically (not "10" < "9")
    let body = json(
        list(
            &http,
            &base,
            &t,
            path,
            &[("page", "0"), ("page-size", "11"), ("sort", "id:asc")],
        )
        .await,
    )
    .await;
    assert_eq!(ids(&body)[9..], ["10", "11"]);
    let body = json(
        list(
            &http,
            &base,
            &t,
            path,
            &[("page-size", "2"), ("sort", "id:desc")],
        )
        .await,
    )
    .await;
    assert_eq!(ids(&body), ["4500", "4499"]);

    // deprecated aliases
    let body = json(list(&http, &base, &t, path, &[("size", "3")]).await).await;
    assert_eq!(ids(&body).len(), 3);
    let body = json(list(&http, &base, &t, path, &[("pagesize", "4"), ("page", "1")]).await).await;
    assert_eq!(ids(&body), ["5", "6", "7", "8"]);

    // filters at scale
    let body = json(
        list(
            &http,
            &base,
            &t,
            path,
            &[("filter", "displayName==\"role 4*\"")],
        )
        .await,
    )
    .await;
    assert_eq!(
        body["totalCount"], 501,
        "Role 4000..4500, case-insensitive glob"
    );
    let body = json(list(&http, &base, &t, path, &[("filter", "id=gt=4495")]).await).await;
    assert_eq!(ids(&body), ["4496", "4497", "4498", "4499", "4500"]);
}

#[tokio::test]
async fn sort_and_filter_variants() {
    let sim = start_with(SimOptions {
        empty: true,
        ..opts()
    })
    .await;
    let inst = sim.instance(None);
    for name in [
        "banana",
        "Apple",
        "cherry",
        "apple pie",
        "Say \"hi\"",
        "it's",
    ] {
        inst.create_role(name, ["Read API Roles"]).unwrap();
    }
    let (http, base) = (http(), sim.url());
    let t = admin_token(&http, &base).await;
    let path = "/api/v1/api-roles";
    let names = |b: &Value| -> Vec<String> {
        b["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["displayName"].as_str().unwrap().to_owned())
            .collect()
    };

    let body = json(list(&http, &base, &t, path, &[("sort", "displayName:asc")]).await).await;
    assert_eq!(
        names(&body),
        [
            "Apple",
            "apple pie",
            "banana",
            "cherry",
            "it's",
            "Say \"hi\""
        ]
    );
    let body = json(
        list(
            &http,
            &base,
            &t,
            path,
            &[("sort", "displayName:desc,id:asc")],
        )
        .await,
    )
    .await;
    assert_eq!(names(&body)[0], "Say \"hi\"");

    let cases: &[(&str, &[&str])] = &[
        ("displayName==apple", &["2"]),
        ("displayName=='APPLE'", &["2"]),
        ("displayName==\"*apple*\"", &["2", "4"]),
        ("displayName!=\"*apple*\"", &["1", "3", "5", "6"]),
        ("displayName==\"Say \\\"hi\\\"\"", &["5"]),
        ("displayName=='it\\'s'", &["6"]),
        ("id=in=(1,3)", &["1", "3"]),
        ("id=in=(1|3)", &["1", "3"]),
        ("displayName=in=(\"banana\"|\"cherry\")", &["1", "3"]),
        ("id=out=(1,2,3)", &["4", "5", "6"]),
        ("id=ge=2;id=le=3", &["2", "3"]),
        ("id==1,id==6", &["1", "6"]),
        ("(id==1,id==2);displayName==b*", &["1"]),
        ("id<2 or id>5", &["1", "6"]),
        ("", &["1", "2", "3", "4", "5", "6"]),
    ];
    for (filter, want) in cases {
        let body = json(list(&http, &base, &t, path, &[("filter", filter)]).await).await;
        assert_eq!(ids(&body), *want, "filter {filter}");
        assert_eq!(body["totalCount"], want.len());
    }

    for bad in [
        "displayName",
        "displayName==",
        "name==x",
        "id=lt=abc",
        "id==\"1",
        "displayName=like=x",
        "id==1;",
    ] {
        let resp = list(&http, &base, &t, path, &[("filter", bad)]).await;
        let err = api_error(resp, 400).await;
        assert_eq!(err["code"], "INVALID_FIELD", "filter {bad}");
        assert_eq!(err["field"], "filter");
    }
    for (k, v) in [
        ("sort", "name:asc"),
        ("sort", "id:sideways"),
        ("page", "-1"),
        ("page-size", "ten"),
    ] {
        let resp = list(&http, &base, &t, path, &[(k, v)]).await;
        api_error(resp, 400).await;
    }
}

#[tokio::test]
async fn integration_lists_page_and_filter() {
    let sim = start_with(SimOptions {
        empty: true,
        ..opts()
    })
    .await;
    let inst = sim.instance(None);
    inst.create_role("R", ["Read API Roles"]).unwrap();
    for i in 1..=25 {
        inst.create_client(&format!("Client {i}"), ["R"], i % 2 == 0, 300)
            .unwrap();
    }
    let (http, base) = (http(), sim.url());
    let t = admin_token(&http, &base).await;
    let path = "/api/v1/api-integrations";
    let body = json(
        list(
            &http,
            &base,
            &t,
            path,
            &[("page", "2"), ("page-size", "10")],
        )
        .await,
    )
    .await;
    assert_eq!(body["totalCount"], 25);
    assert_eq!(ids(&body), ["21", "22", "23", "24", "25"]);
    assert_eq!(body["results"][0]["id"], json!(21), "integer ids");
    let body = json(
        list(
            &http,
            &base,
            &t,
            path,
            &[
                ("filter", "displayName==\"client 1*\""),
                ("sort", "id:desc"),
            ],
        )
        .await,
    )
    .await;
    assert_eq!(body["totalCount"], 11);
    assert_eq!(ids(&body)[0], "19");
    let body = json(list(&http, &base, &t, path, &[("page", "9")]).await).await;
    assert_eq!(body, json!({"totalCount": 25, "results": []}));
}
