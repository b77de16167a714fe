//! `wardenctl bootstrap INSTANCE [--username NAME] [--password-stdin] [--force]`: set up
//! Warden's own management role and client with a Jamf Pro admin account, once.
//!
//! The user name and password are asked for once: on the terminal (the password with echo
//! off, by `rpassword`), or with `--password-stdin` from stdin, one per line (the user name
//! line is skipped when `--username` is given). Without a terminal and without
//! `--password-stdin` it refuses (exit 2). Before asking, it checks that the daemon answers and
//! knows the instance. The password is a [`SecretString`] from the moment it is read; it goes to
//! the daemon in the request and nowhere else.
//!
//! The daemon may take a while (it retries a Vault that is down while the new secret exists only
//! in memory), so unless `--timeout` is given the answer is awaited for [`BOOTSTRAP_TIMEOUT`].

use std::io::{self, BufRead, IsTerminal, Write};
use std::time::Duration;

use anyhow::{Context as _, bail};
use secrecy::SecretString;
use secrecy::zeroize::Zeroize;
use warden_core::protocol::{BootstrapRequest, BootstrapResponse, Request, Response};

use crate::cli::BootstrapArgs;
use crate::client::unexpected;
use crate::{Ctx, Exit};

/// How long the daemon may take to answer a bootstrap unless `--timeout` says otherwise.
pub const BOOTSTRAP_TIMEOUT: Duration = Duration::from_secs(300);

/// What the admin closes with: the account is not needed any more.
pub const ADVICE: &str =
    "the admin user account is no longer needed by Warden; disable or remove its API access";

/// The Jamf Pro admin's user name and password.
pub struct Login {
    /// User name.
    pub username: String,
    /// Password.
    pub password: SecretString,
}

impl std::fmt::Debug for Login {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Login")
            .field("username", &self.username)
            .field("password", &"[redacted]")
            .finish()
    }
}

/// Asks for the login, sends the request and prints what the daemon set up.
pub async fn run(ctx: &Ctx, args: BootstrapArgs) -> anyhow::Result<Exit> {
    if !args.password_stdin && !io::stdin().is_terminal() {
        bail!(
            "refusing to bootstrap {} without a terminal to ask for the jamf pro admin password; \
             pass --password-stdin to read the user name and password from stdin, one per line",
            args.instance
        );
    }
    preflight(ctx, &args.instance).await?;
    let login = read_login(&args)?;
    // A new connection: the daemon drops clients that stay silent while someone types.
    let mut client = ctx.connect().await?;
    if ctx.global.timeout.is_none() {
        client.set_timeout(BOOTSTRAP_TIMEOUT);
    }
    let request = BootstrapRequest {
        instance: args.instance.clone(),
        username: login.username,
        password: login.password,
        force: args.force,
    };
    let done = match client.call("bootstrap", request).await? {
        Response::Bootstrapped(done) => done,
        other => return Err(unexpected("bootstrap", &other)),
    };
    if ctx.json() {
        ctx.print_json(&done)?;
    } else {
        ctx.print(&render(&done))?;
    }
    Ok(Exit::Ok)
}

/// Before anyone types a password: the daemon must answer, and know the instance (when it can
/// list its instances; an older daemon that cannot is left to answer the bootstrap itself).
async fn preflight(ctx: &Ctx, instance: &str) -> anyhow::Result<()> {
    let mut client = ctx.connect().await?;
    if let Ok(Response::Instances { instances }) =
        client.call("instances", Request::Instances).await
        && !instances.iter().any(|i| i.name == instance)
    {
        let names: Vec<&str> = instances.iter().map(|i| i.name.as_str()).collect();
        bail!(
            "wardend has no instance {instance} (configured: {}); check the name, or add the \
             instance to the configuration and reload",
            if names.is_empty() {
                "none".to_string()
            } else {
                names.join(", ")
            }
        );
    }
    Ok(())
}

/// The login: from stdin with `--password-stdin`, otherwise prompted on the terminal.
fn read_login(args: &BootstrapArgs) -> anyhow::Result<Login> {
    if args.password_stdin {
        return read_login_from(args.username.as_deref(), &mut io::stdin().lock())
            .context("cannot read the login from stdin (--password-stdin)");
    }
    let username = match &args.username {
        Some(name) => check_username(name)?,
        None => {
            let mut prompt = io::stderr();
            write!(
                prompt,
                "Jamf Pro admin user name for instance {}: ",
                args.instance
            )?;
            prompt.flush()?;
            let mut line = String::new();
            io::stdin()
                .lock()
                .read_line(&mut line)
                .context("cannot read the user name")?;
            check_username(&line)?
        }
    };
    let mut typed = rpassword::prompt_password(format!("Password of {username} (not shown): "))
        .context("cannot read the password from the terminal")?;
    let password = SecretString::from(typed.as_str());
    typed.zeroize();
    check_password(&password)?;
    Ok(Login { username, password })
}

/// Reads `username\npassword\n` from `input`, or only `password\n` when `username` is given.
/// Only the line ending is stripped from the password (spaces are kept).
pub fn read_login_from(username: Option<&str>, input: &mut impl BufRead) -> anyhow::Result<Login> {
    let username = match username {
        Some(name) => check_username(name)?,
        None => {
            let mut line = String::new();
            input.read_line(&mut line)?;
            check_username(&line).context("expected the user name on the first line")?
        }
    };
    let mut line = String::new();
    let read = input.read_line(&mut line);
    let password = {
        let without_newline = line.strip_suffix('\n').unwrap_or(&line);
        SecretString::from(
            without_newline
                .strip_suffix('\r')
                .unwrap_or(without_newline),
        )
    };
    line.zeroize();
    read?;
    check_password(&password).context("expected the password on the line after the user name")?;
    Ok(Login { username, password })
}

fn check_username(name: &str) -> anyhow::Result<String> {
    let name = name.trim();
    if name.is_empty() {
        bail!("the user name is empty");
    }
    if name.chars().any(char::is_control) {
        bail!("the user name contains control characters");
    }
    Ok(name.to_string())
}

fn check_password(password: &SecretString) -> anyhow::Result<()> {
    if secrecy::ExposeSecret::expose_secret(password).is_empty() {
        bail!("the password is empty");
    }
    Ok(())
}

/// The text output of `bootstrap` (never a secret): what was set up, then the closing advice
/// and the escalation warning.
pub fn render(done: &BootstrapResponse) -> String {
    let mut out = format!(
        "bootstrapped Warden's management client on {}\n",
        done.instance
    );
    out.push_str(&format!(
        "  role     {:?} (id {}): {}, with exactly these {} privileges:\n",
        done.role_name,
        done.role_id,
        done.role.as_str(),
        done.privileges.len()
    ));
    for privilege in &done.privileges {
        out.push_str(&format!("             {privilege}\n"));
    }
    out.push_str(&format!(
        "  client   {:?} (id {}, client id {}): {}; enabled, role {:?} only\n",
        done.client_name,
        done.integration_id,
        done.client_id,
        done.client.as_str(),
        done.role_name
    ));
    out.push_str(&format!(
        "  secret   generated by Jamf Pro straight into vault at {} (version {}); never shown\n",
        done.vault_path, done.vault_version
    ));
    let scope = if done.verified_scope.is_empty() {
        "no role".to_string()
    } else {
        format!("role {}", done.verified_scope.join(", role "))
    };
    out.push_str(&format!(
        "  verified a token minted with it has scope {scope} only and can read the API roles (token lifetime {} s)\n",
        done.token_lifetime_seconds
    ));
    if done.user_session_closed {
        out.push_str("  session  the admin's Jamf Pro token was invalidated\n");
    } else {
        out.push_str(
            "  session  the admin's Jamf Pro token could not be invalidated; it expires on its own\n",
        );
    }
    if !done.change_seqs.is_empty() {
        let seqs: Vec<String> = done.change_seqs.iter().map(u64::to_string).collect();
        out.push_str(&format!("  recorded change log seq {}\n", seqs.join(", ")));
    }
    for note in &done.notes {
        out.push_str(&format!("note: {note}\n"));
    }
    out.push_str(&format!(
        "\nNext: {ADVICE}.\n\
         Warning: the management client can grant itself any privilege (these privileges let it \
         create a role with every privilege, give it to a client and mint that client's secret): \
         protect its vault path {} like an admin password.\n\
         Rotate its secret later with `wardenctl rotate {}/{}`; bootstrap is for the first set-up.\n",
        done.vault_path, done.instance, done.client_name
    ));
    out
}

#[cfg(test)]
mod tests {
    use secrecy::ExposeSecret;
    use warden_core::management::MANAGEMENT_NAME;
    use warden_core::protocol::ObjectChange;

    use super::*;

    #[test]
    fn login_from_stdin() {
        let login = read_login_from(None, &mut &b"  jamf-admin \n p@ss word \r\n"[..]).unwrap();
        assert_eq!(login.username, "jamf-admin");
        assert_eq!(login.password.expose_secret(), " p@ss word ");
        assert!(!format!("{login:?}").contains("p@ss"));
        let login = read_login_from(Some("jamf-admin"), &mut &b"pw"[..]).unwrap();
        assert_eq!(login.password.expose_secret(), "pw");
        let err = read_login_from(None, &mut &b"jamf-admin\n"[..]).unwrap_err();
        assert!(format!("{err:#}").contains("password is empty"), "{err:#}");
        let err = read_login_from(None, &mut &b""[..]).unwrap_err();
        assert!(format!("{err:#}").contains("user name is empty"), "{err:#}");
        assert!(read_login_from(Some(" "), &mut &b"pw\n"[..]).is_err());
    }

    #[test]
    fn renders_the_set_up_and_the_advice() {
        let done = BootstrapResponse {
            instance: "prod".into(),
            role_name: MANAGEMENT_NAME.into(),
            role_id: "7".into(),
            role: ObjectChange::Created,
            privileges: vec!["Read API Roles".into(), "Create API Roles".into()],
            client_name: MANAGEMENT_NAME.into(),
            integration_id: 12,
            client: ObjectChange::Unchanged,
            client_id: "c-1".into(),
            vault_path: "secret/jamf-warden/instances/prod/management".into(),
            vault_version: 3,
            verified_scope: vec!["7".into()],
            token_lifetime_seconds: 300,
            replaced_working: false,
            user_session_closed: true,
            notes: vec!["something".into()],
            change_seqs: vec![4, 5],
        };
        let text = render(&done);
        for wanted in [
            "\"Jamf Warden\" (id 7): created, with exactly these 2 privileges:",
            "             Create API Roles\n",
            "client id c-1): unchanged",
            "at secret/jamf-warden/instances/prod/management (version 3)",
            "scope role 7 only",
            "token was invalidated",
            "seq 4, 5",
            "note: something",
            ADVICE,
            "can grant itself any privilege",
            "`wardenctl rotate prod/Jamf Warden`",
        ] {
            assert!(text.contains(wanted), "{wanted:?} not in\n{text}");
        }
    }
}
