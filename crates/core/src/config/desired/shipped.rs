//! Declared privileges checked against the catalogue shipped in the binary
//! ([`shipped_privileges`]): a typo is caught by `wardend --check-config` and a reload, before
//! anything reaches Jamf. A name the shipped catalogue lacks is a warning, not an error: a Jamf
//! newer than the shipped list may have it. The live catalogue, checked at plan time
//! (`drift::validate`), stays the authority.

use crate::audit::{shipped_jamf_versions, shipped_privileges};
use crate::drift::suggest;

use super::file::DesiredFile;

/// Pushes a warning, at the privilege's `file:line:column`, for every privilege of a managed
/// role in `file` that the shipped catalogue does not list, with "did you mean" when a shipped
/// name looks alike.
pub(crate) fn check_shipped_catalogue(file: &DesiredFile, warnings: &mut Vec<String>) {
    let shipped = shipped_privileges();
    if shipped.is_empty() {
        return;
    }
    for role in file.roles.iter().filter(|r| !r.external) {
        for privilege in &role.privileges {
            let name = privilege.get_ref();
            if name.trim().is_empty() || shipped.binary_search(name).is_ok() {
                continue;
            }
            let location = file.source.loc(&privilege.span());
            let suggestions = suggest(name, shipped);
            let hint = if suggestions.is_empty() {
                String::new()
            } else {
                let quoted: Vec<String> = suggestions.iter().map(|s| format!("`{s}`")).collect();
                format!("did you mean {}? ", quoted.join(" or "))
            };
            warnings.push(format!(
                "{location}: `role.privileges`: role `{}`: privilege `{name}` is not in the \
                 catalogue shipped with this wardend (Jamf Pro {}); {hint}a newer Jamf may \
                 have it: the live catalogue decides at plan time",
                role.name.get_ref(),
                shipped_jamf_versions(),
            ));
        }
    }
}
