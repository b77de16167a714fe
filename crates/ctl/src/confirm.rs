//! Confirmation of changing commands (`rotate`, `apply`): `--yes`, or typing the target's name
//! on a terminal.

use std::io::{self, BufRead, IsTerminal, Write};

/// Whether the user confirmed `action` on `name`: `--yes`, or typing `name` at the prompt on a
/// terminal. Without a terminal and without `--yes` it refuses.
pub(crate) fn confirm(action: &str, name: &str, yes: bool) -> anyhow::Result<()> {
    if yes {
        return Ok(());
    }
    can_confirm(action, name, yes)?;
    confirm_with(action, name, &mut io::stdin().lock(), &mut io::stderr())
}

/// Fails early (before asking the daemon anything) when [`confirm`] would refuse for want of a
/// terminal.
pub(crate) fn can_confirm(action: &str, name: &str, yes: bool) -> anyhow::Result<()> {
    if !yes && !io::stdin().is_terminal() {
        anyhow::bail!(
            "refusing to {action} {name} without confirmation: stdin is not a terminal; pass --yes to confirm"
        );
    }
    Ok(())
}

/// [`confirm`]'s prompt, reading the answer from `input` and prompting on `prompt`.
pub(crate) fn confirm_with(
    action: &str,
    name: &str,
    input: &mut impl BufRead,
    prompt: &mut impl Write,
) -> anyhow::Result<()> {
    write!(
        prompt,
        "about to {action} {name}; type `{name}` to confirm: "
    )?;
    prompt.flush()?;
    let mut answer = String::new();
    input.read_line(&mut answer)?;
    if answer.trim() == name {
        Ok(())
    } else {
        anyhow::bail!("aborted: the answer did not match `{name}`; nothing was changed")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_name_confirms() {
        let mut prompt = Vec::new();
        confirm_with(
            "rotate",
            "prod/backup",
            &mut &b"prod/backup\n"[..],
            &mut prompt,
        )
        .unwrap();
        assert_eq!(
            String::from_utf8(prompt).unwrap(),
            "about to rotate prod/backup; type `prod/backup` to confirm: "
        );
        let err = confirm_with("apply", "prod", &mut &b"yes\n"[..], &mut Vec::new()).unwrap_err();
        assert!(err.to_string().starts_with("aborted"));
        assert!(confirm_with("apply", "prod", &mut &b""[..], &mut Vec::new()).is_err());
    }
}
