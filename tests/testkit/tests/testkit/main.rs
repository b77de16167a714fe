//! The testkit integration tests, one binary (one link, one copy of the dependencies).

mod jamf_client;
mod openbao_kv;
mod rotation_alternating;
mod rotation_failures;
mod rotation_recovery;
mod rotation_secrets;
mod rotation_single;
mod rotation_store;
mod rotation_support;
mod seed_curl;
mod vault_store;
mod vault_token_file;
