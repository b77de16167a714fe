//! Message shapes: round trips, evolution rules, classification.

use std::collections::BTreeSet;
use std::path::PathBuf;

use chrono::{TimeZone, Utc};
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;
use warden_core::changelog::{GENESIS_PREV, Head, Problem, ProblemKind, VerifyReport};
use warden_core::protocol::{
    AdoptRequest, ApplyRequest, AuditRequest, BootstrapRequest, BootstrapResponse, Cutover,
    DriftRequest, ErrorCode, HelloRequest, HelloResponse, ImportRequest, InstanceStatus,
    InstanceSummary, JobKind, JobOutcome, JobStatus, LogTailRequest, Message, ObjectChange,
    PROTOCOL_VERSION, PlanRequest, ProtocolError, ReportBody, ReportEnd, ReportFormat, ReportKind,
    ReportPart, ReportResponse, ReportStart, Request, Response, RotateRequest, RotateResponse,
    SecretsRequest, StatusReport, decode, encode,
};

/// The admin password of the bootstrap sample.
const PASSWORD: &str = "pw-Zq8!sample:with spaces";

/// Fails to compile when a request variant is added without a sample below.
fn request_is_covered(request: &Request) {
    match request {
        Request::Hello(_)
        | Request::Status
        | Request::Instances
        | Request::Reload
        | Request::LogTail(_)
        | Request::LogVerify
        | Request::Secrets(_)
        | Request::Rotate(_)
        | Request::Drift(_)
        | Request::Plan(_)
        | Request::Import(_)
        | Request::Apply(_)
        | Request::Audit(_)
        | Request::Bootstrap(_)
        | Request::Adopt(_) => {}
    }
}

/// Fails to compile when a response variant is added without a sample below.
fn response_is_covered(response: &Response) {
    match response {
        Response::Hello(_)
        | Response::Status(_)
        | Response::Instances { .. }
        | Response::Reloaded { .. }
        | Response::LogTail { .. }
        | Response::LogVerify(_)
        | Response::Report(_)
        | Response::Rotated(_)
        | Response::ReportStart(_)
        | Response::ReportPart(_)
        | Response::ReportEnd(_)
        | Response::Bootstrapped(_)
        | Response::Ok { .. }
        | Response::Error { .. } => {}
    }
}

fn requests() -> Vec<Request> {
    let prod = || "prod".to_owned();
    vec![
        HelloRequest::new("wardenctl/test").into(),
        Request::Status,
        Request::Instances,
        Request::Reload,
        LogTailRequest { n: 20 }.into(),
        Request::LogVerify,
        SecretsRequest { instance: None }.into(),
        RotateRequest {
            instance: prod(),
            client: "backup".to_owned(),
            confirmed: true,
            recover: false,
            accept_out_of_band: false,
        }
        .into(),
        DriftRequest {
            instances: vec![prod()],
            now: true,
            refresh_catalogue: false,
        }
        .into(),
        PlanRequest {
            instance: prod(),
            refresh_catalogue: true,
            ..Default::default()
        }
        .into(),
        ImportRequest { instance: prod() }.into(),
        ApplyRequest {
            instance: prod(),
            confirmed: false,
            ..Default::default()
        }
        .into(),
        AuditRequest {
            instances: vec![prod()],
            client: Some("Backup".to_owned()),
            last: false,
            stream: true,
        }
        .into(),
        bootstrap_request().into(),
        AdoptRequest {
            instance: prod(),
            client: "Backup".to_owned(),
            cutover: Some(Cutover::At {
                at: Utc.with_ymd_and_hms(2026, 3, 1, 9, 0, 0).unwrap(),
            }),
            switched: false,
            confirmed: true,
        }
        .into(),
    ]
}

fn bootstrap_request() -> BootstrapRequest {
    BootstrapRequest {
        instance: "prod".to_owned(),
        username: "jamf-admin".to_owned(),
        password: SecretString::from(PASSWORD),
        force: false,
    }
}

fn bootstrap_response() -> BootstrapResponse {
    BootstrapResponse {
        instance: "prod".to_owned(),
        role_name: "Jamf Warden".to_owned(),
        role_id: "7".to_owned(),
        role: ObjectChange::Created,
        privileges: vec!["Read API Roles".to_owned()],
        client_name: "Jamf Warden".to_owned(),
        integration_id: 12,
        client: ObjectChange::Unchanged,
        client_id: "b8b14453-8d28-4d0a-9493-c9cf7c040a1e".to_owned(),
        vault_path: "secret/jamf-warden/instances/prod/management".to_owned(),
        vault_version: 1,
        verified_scope: vec!["7".to_owned()],
        token_lifetime_seconds: 300,
        replaced_working: false,
        user_session_closed: true,
        notes: vec!["role Jamf Warden was created".to_owned()],
        change_seqs: vec![4, 5, 6, 7],
    }
}

fn responses() -> Vec<Response> {
    let time = Utc.with_ymd_and_hms(2026, 11, 22, 19, 23, 0).unwrap();
    let head = Head {
        seq: 3,
        hash: "ab".repeat(32),
    };
    vec![
        Response::Hello(HelloResponse {
            protocol_version: PROTOCOL_VERSION,
            daemon_version: "0.1.0".to_owned(),
        }),
        Response::Status(StatusReport {
            version: "0.1.0".to_owned(),
            uptime_secs: 42,
            config_path: PathBuf::from("/etc/warden/warden.toml"),
            started_at: time,
            vault: Some(Box::new(warden_core::protocol::VaultState {
                address: "https://vault.example:8200".into(),
                auth_method: "token_file".into(),
                token_file: Some("/run/jamf-warden/vault-token".into()),
                token_ttl_secs: Some(3_000),
                renewable: true,
                last_authenticated: Some(time),
                last_renewed: None,
                last_error: Some("vault refused `update` on secret/data/x".into()),
                last_error_at: Some(time),
            })),
            cluster: Some(Box::new(warden_core::protocol::ClusterStatus {
                daemon: "host-a".into(),
                lease_ttl_secs: 30,
                heartbeat_stands: true,
                last_error: None,
                members: vec![warden_core::protocol::ClusterMember {
                    daemon: "host-a".into(),
                    host: "ops-1".into(),
                    version: "0.1.0".into(),
                    live: true,
                    renewed_at: time,
                    expires_at: time,
                    instances: 1,
                    this: true,
                }],
                held: vec![warden_core::protocol::HeldLease {
                    instance: "prod".into(),
                    fence: 3,
                    since: time,
                }],
            })),
            instances: vec![InstanceStatus {
                name: "prod".to_owned(),
                url: "https://prod.jamfcloud.com".to_owned(),
                reachable: Some(true),
                last_error: None,
                parked: false,
                consecutive_failures: 0,
                jobs: vec![JobStatus {
                    kind: JobKind::Rotate,
                    target: Some("backup".to_owned()),
                    last_run: Some(time),
                    last_success: Some(time),
                    last_outcome: Some(JobOutcome::Ok),
                    next_run: None,
                    running: false,
                }],
                remediation_waits: None,
            }],
        }),
        Response::Instances {
            instances: vec![InstanceSummary {
                name: "prod".to_owned(),
                url: "https://prod.jamfcloud.com".to_owned(),
                roles: 3,
                clients: 2,
                parked: false,
                declared_roles: Vec::new(),
                declared_clients: Vec::new(),
            }],
        },
        Response::Reloaded {
            summary: "instance prod: schedule changed".to_owned(),
        },
        Response::LogTail {
            records: vec![sample_record()],
        },
        Response::LogVerify(VerifyReport {
            path: PathBuf::from("/var/lib/warden/changes.jsonl"),
            records: 2,
            last: Some(Head {
                seq: 2,
                hash: "cd".repeat(32),
            }),
            head: Some(head),
            head_lag: None,
            problem: Some(Problem {
                line: 3,
                seq: Some(3),
                kind: ProblemKind::Truncated,
                message: "cut".to_owned(),
            }),
            legacy_records: 1,
            macs_checked: true,
            recovery_points: Vec::new(),
        }),
        Response::Report(ReportResponse {
            kind: ReportKind::Drift,
            instance: Some("prod".to_owned()),
            format: ReportFormat::Json,
            findings: 1,
            body: ReportBody::encode(&json!({"roles": {"changed": ["Backup role"]}})).unwrap(),
        }),
        Response::Rotated(RotateResponse {
            instance: "prod".to_owned(),
            client_id: "client-7".to_owned(),
            vault_path: "jamf/prod/backup".to_owned(),
            vault_version: 4,
            change_seq: 17,
        }),
        Response::ReportStart(ReportStart {
            kind: ReportKind::Audit,
            instance: None,
            format: ReportFormat::Json,
            findings: 3,
            split: "instances".to_owned(),
            body: ReportBody::encode(&json!({"schema": "warden.audit/1", "instances": []}))
                .unwrap(),
        }),
        Response::ReportPart(ReportPart {
            index: 0,
            items: ReportBody::encode(&json!([{"instance": "prod"}])).unwrap(),
        }),
        Response::ReportEnd(ReportEnd { parts: 1, items: 1 }),
        Response::Bootstrapped(Box::new(bootstrap_response())),
        Response::ok("suppressed"),
        Response::error(ErrorCode::ConfirmationRequired, "add --yes"),
    ]
}

fn sample_record() -> warden_core::changelog::Record {
    let line = format!(
        r#"{{"seq":1,"time":"2026-11-22T19:23:00.000000Z","actor":{{"kind":"user","uid":1000,"user":"alice","pid":7}},"instance":"prod","object":{{"kind":"client","name":"backup","id":"7"}},"action":"rotate","before":null,"after":{{"vault_version":4}},"outcome":"ok","error":null,"prev":"{GENESIS_PREV}","hash":"{}"}}"#,
        "ef".repeat(32)
    );
    serde_json::from_str(&line).unwrap()
}

fn type_of(payload: &[u8]) -> String {
    let value: serde_json::Value = serde_json::from_slice(payload).unwrap();
    value["type"].as_str().unwrap().to_owned()
}

#[test]
fn every_request_round_trips() {
    let samples = requests();
    for request in &samples {
        request_is_covered(request);
        let payload = encode(request).unwrap();
        assert_eq!(type_of(&payload), request.type_name());
        assert_eq!(&decode::<Request>(&payload).unwrap(), request);
    }
    let names: BTreeSet<_> = samples.iter().map(Message::type_name).collect();
    assert_eq!(names, Request::TYPES.iter().copied().collect());
}

#[test]
fn every_response_round_trips() {
    let samples = responses();
    for response in &samples {
        response_is_covered(response);
        let payload = encode(response).unwrap();
        assert_eq!(type_of(&payload), response.type_name());
        assert_eq!(&decode::<Response>(&payload).unwrap(), response);
    }
    let names: BTreeSet<_> = samples.iter().map(Message::type_name).collect();
    assert_eq!(names, Response::TYPES.iter().copied().collect());
}

#[test]
fn wire_shapes_are_stable() {
    let rotate: Request = RotateRequest {
        instance: "prod".into(),
        client: "backup".into(),
        confirmed: true,
        recover: false,
        accept_out_of_band: false,
    }
    .into();
    assert_eq!(
        serde_json::to_value(&rotate).unwrap(),
        json!({"type": "rotate", "instance": "prod", "client": "backup", "confirmed": true})
    );
    assert_eq!(
        serde_json::to_value(Request::LogVerify).unwrap(),
        json!({"type": "log_verify"})
    );
    assert_eq!(
        serde_json::to_value(Response::error(ErrorCode::NotFound, "no such instance")).unwrap(),
        json!({"type": "error", "code": "not_found", "message": "no such instance"})
    );
}

#[test]
fn unknown_fields_are_ignored_and_new_fields_default() {
    let status: Request = decode(br#"{"type":"status","trace_id":"x"}"#).unwrap();
    assert_eq!(status, Request::Status);
    let rotate: Request =
        decode(br#"{"type":"rotate","instance":"prod","client":"b","dry_run":true}"#).unwrap();
    assert_eq!(
        rotate,
        RotateRequest {
            instance: "prod".into(),
            client: "b".into(),
            confirmed: false,
            recover: false,
            accept_out_of_band: false,
        }
        .into()
    );
    let error: Response =
        decode(br#"{"type":"error","code":"rate_limited","message":"later"}"#).unwrap();
    assert_eq!(error, Response::error(ErrorCode::Unknown, "later"));
}

#[test]
fn unknown_request_type_is_a_bad_request() {
    let err = decode::<Request>(br#"{"type":"teleport","to":"mars"}"#).unwrap_err();
    assert!(
        matches!(&err, ProtocolError::UnknownType { type_name, .. } if type_name == "teleport"),
        "{err}"
    );
    assert!(err.is_recoverable());
    let Some(Response::Error { code, message }) = err.to_response() else {
        panic!("no response for {err}");
    };
    assert_eq!(code, ErrorCode::BadRequest);
    assert!(message.contains("teleport"), "{message}");
}

#[test]
fn malformed_and_invalid_payloads_are_told_apart() {
    let err = decode::<Request>(b"{\"type\":").unwrap_err();
    assert!(matches!(err, ProtocolError::MalformedJson(_)), "{err}");
    assert_eq!(err.error_code(), Some(ErrorCode::BadRequest));
    let err = decode::<Request>(br#"{"type":"rotate","instance":"prod"}"#).unwrap_err();
    assert!(
        matches!(&err, ProtocolError::InvalidMessage { type_name: Some(t), .. } if t == "rotate"),
        "{err}"
    );
    assert!(err.to_string().contains("client"), "{err}");
    let err = decode::<Request>(b"[1,2]").unwrap_err();
    assert!(
        matches!(
            err,
            ProtocolError::InvalidMessage {
                type_name: None,
                ..
            }
        ),
        "{err}"
    );
}

/// `wardenctl rotate --recover`: the flag travels, is mutating like every rotate, and an
/// older client's request without it means a plain rotation.
#[test]
fn rotate_recover_round_trips() {
    let request: Request = RotateRequest {
        instance: "prod".into(),
        client: "backup".to_owned(),
        confirmed: false,
        recover: true,
        accept_out_of_band: false,
    }
    .into();
    assert!(request.is_mutating());
    let json = serde_json::to_value(&request).unwrap();
    assert_eq!(json["recover"], true, "{json}");
    let back: Request = serde_json::from_value(json).unwrap();
    assert_eq!(back, request);
    assert_eq!(
        request.log_safe(),
        "rotate instance=prod client=backup confirmed=false recover=true"
    );
    let old: Request = serde_json::from_value(serde_json::json!({
        "type": "rotate", "instance": "prod", "client": "b", "confirmed": true
    }))
    .unwrap();
    let Request::Rotate(old) = old else {
        panic!("not a rotate request")
    };
    assert!(!old.recover);
}

#[test]
fn mutating_requests() {
    let table = [
        ("hello", false),
        ("status", false),
        ("instances", false),
        ("reload", true),
        ("log_tail", false),
        ("log_verify", false),
        ("secrets", false),
        ("rotate", true),
        ("drift", false),
        ("plan", false),
        ("import", false),
        ("apply", true),
        ("audit", false),
        ("bootstrap", true),
        ("adopt", true),
    ];
    let samples = requests();
    assert_eq!(samples.len(), table.len());
    for (request, (name, mutating)) in samples.iter().zip(table) {
        assert_eq!(request.type_name(), name);
        assert_eq!(request.is_mutating(), mutating, "{name}");
    }
}

#[test]
fn log_safe_rendering() {
    let rendered: Vec<String> = requests().iter().map(Request::log_safe).collect();
    assert_eq!(
        rendered[7],
        "rotate instance=prod client=backup confirmed=true recover=false"
    );
    assert_eq!(rendered[6], "secrets all instances");
    assert_eq!(
        rendered[8],
        "drift instances=prod now=true refresh_catalogue=false"
    );
    assert_eq!(rendered[9], "plan instance=prod refresh_catalogue=true");
    assert_eq!(rendered[10], "import instance=prod");
    assert_eq!(
        rendered[12],
        "audit instances=prod client=Backup last=false"
    );
    assert_eq!(rendered[13], "bootstrap instance=prod force=false");
}

#[test]
fn bootstrap_password_travels_on_the_wire_only() {
    let request: Request = bootstrap_request().into();
    // Debug (of the payload and of the whole request) and log_safe redact it; log_safe leaves
    // out the user name too.
    let debug = format!("{request:?} {:?} {request:#?}", bootstrap_request());
    assert!(!debug.contains(PASSWORD), "{debug}");
    assert!(debug.contains("[redacted]"), "{debug}");
    assert!(debug.contains("jamf-admin"), "{debug}");
    let safe = request.log_safe();
    assert!(
        !safe.contains(PASSWORD) && !safe.contains("jamf-admin"),
        "{safe}"
    );
    // On the wire it is the plain string, and it decodes back to the same secret.
    let payload = encode(&request).unwrap();
    let value: serde_json::Value = serde_json::from_slice(&payload).unwrap();
    assert_eq!(
        value,
        json!({"type": "bootstrap", "instance": "prod", "username": "jamf-admin", "password": PASSWORD, "force": false})
    );
    let Request::Bootstrap(back) = decode::<Request>(&payload).unwrap() else {
        panic!("not a bootstrap request");
    };
    assert_eq!(back.password.expose_secret(), PASSWORD);
    assert_eq!(back, bootstrap_request());
    // `force` defaults to false; a different password is a different request.
    let short: Request = decode(
        br#"{"type":"bootstrap","instance":"prod","username":"jamf-admin","password":"pw-Zq8!sample:with spaces"}"#,
    )
    .unwrap();
    assert_eq!(short, request);
    let other = BootstrapRequest {
        password: SecretString::from("another"),
        ..bootstrap_request()
    };
    assert_ne!(other, bootstrap_request());
    // An invalid bootstrap request is named without echoing the password.
    let err = decode::<Request>(br#"{"type":"bootstrap","password":"pw-Zq8!sample"}"#).unwrap_err();
    assert!(!err.to_string().contains("pw-Zq8!sample"), "{err}");
}

#[test]
fn bootstrap_response_never_holds_a_secret() {
    let value =
        serde_json::to_value(Response::Bootstrapped(Box::new(bootstrap_response()))).unwrap();
    let keys: Vec<&String> = value.as_object().unwrap().keys().collect();
    assert!(
        keys.iter()
            .all(|k| !warden_core::changelog::is_secret_key(k)),
        "{keys:?}"
    );
    let changed: ObjectChange = serde_json::from_str("\"renamed\"").unwrap();
    assert_eq!(changed, ObjectChange::Other);
    assert_eq!(ObjectChange::Updated.as_str(), "updated");
}

#[test]
fn error_codes_are_stable_strings() {
    let codes = [
        (ErrorCode::BadRequest, "bad_request"),
        (ErrorCode::VersionMismatch, "version_mismatch"),
        (ErrorCode::PermissionDenied, "permission_denied"),
        (ErrorCode::NotFound, "not_found"),
        (ErrorCode::Conflict, "conflict"),
        (ErrorCode::Unavailable, "unavailable"),
        (ErrorCode::Internal, "internal"),
        (ErrorCode::FrameTooLarge, "frame_too_large"),
        (ErrorCode::Unsupported, "unsupported"),
        (ErrorCode::ConfirmationRequired, "confirmation_required"),
    ];
    for (code, name) in codes {
        assert_eq!(serde_json::to_value(code).unwrap(), json!(name));
        assert_eq!(code.as_str(), name);
    }
}

#[test]
fn hello_answer() {
    let ok = HelloRequest::new("wardenctl/x").answer("0.1.0");
    assert_eq!(
        ok,
        Response::Hello(HelloResponse {
            protocol_version: PROTOCOL_VERSION,
            daemon_version: "0.1.0".into()
        })
    );
    let old = HelloRequest {
        protocol_version: PROTOCOL_VERSION + 1,
        client: "wardenctl/9".into(),
    };
    let Response::Error { code, message } = old.answer("0.1.0") else {
        panic!("mismatch accepted");
    };
    assert_eq!(code, ErrorCode::VersionMismatch);
    assert_eq!(
        message,
        format!(
            "wardenctl speaks protocol {}, wardend 0.1.0 speaks protocol {PROTOCOL_VERSION}; use the wardenctl that ships with this wardend",
            PROTOCOL_VERSION + 1
        )
    );
}
