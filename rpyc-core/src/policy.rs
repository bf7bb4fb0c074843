//! The attribute access policy: RPyC's `_check_attr`, implemented once, here.
//!
//! Every GETATTR, SETATTR, DELATTR, CALLATTR, CMP and CTXEXIT on an exported object goes
//! through [`check_attr`] with the owner's [`Config`]. It either maps the requested name to the
//! member to use (`foo` → `exposed_foo`) or refuses with `AttributeError("cannot access 'foo'")`.
//!
//! ```
//! use rpyc::core::{policy::{check_attr, Permission}, Config};
//! let members = ["exposed_add", "secret"];
//! let has = |n: &str| members.contains(&n);
//! let cfg = Config::default();
//! assert_eq!(check_attr(&cfg, "add", Permission::Get, has).unwrap(), "exposed_add");
//! assert_eq!(check_attr(&cfg, "exposed_add", Permission::Get, has).unwrap(), "exposed_add");
//! assert!(check_attr(&cfg, "secret", Permission::Get, has).is_err());
//! assert!(check_attr(&cfg, "__class__", Permission::Get, has).is_err());
//! ```

use std::borrow::Cow;

use crate::config::Config;
use crate::vinegar::{echoed_name, RemoteException};

/// Which master switch guards an access.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    /// `allow_getattr` (GETATTR, CALLATTR, CMP, CTXEXIT).
    Get,
    /// `allow_setattr` (SETATTR).
    Set,
    /// `allow_delattr` (DELATTR).
    Del,
}

/// The access was refused; becomes `AttributeError("cannot access '<name>'")`, the name
/// echoed once and cut to [`MAX_ECHOED_NAME`](crate::vinegar::MAX_ECHOED_NAME) characters.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot access '{}'", echoed_name(name))]
pub struct AccessDenied {
    /// The name asked for.
    pub name: String,
}

impl From<AccessDenied> for RemoteException {
    fn from(e: AccessDenied) -> Self {
        RemoteException::attribute_error(e.to_string())
    }
}

/// Maps `name` to the member to access, or refuses, exactly as RPyC 6's `_check_attr`.
///
/// `has_attr(n)` tells whether the object has a member called `n` (real member names, e.g.
/// `exposed_add`). The returned name may still not exist when the policy allows it plainly
/// (the caller then raises the natural `AttributeError`).
pub fn check_attr<'a>(
    cfg: &Config,
    name: &'a str,
    perm: Permission,
    has_attr: impl Fn(&str) -> bool,
) -> Result<Cow<'a, str>, AccessDenied> {
    let deny = || AccessDenied {
        name: name.to_string(),
    };
    let switch = match perm {
        Permission::Get => cfg.allow_getattr,
        Permission::Set => cfg.allow_setattr,
        Permission::Del => cfg.allow_delattr,
    };
    if !switch {
        return Err(deny());
    }
    let plain = cfg.allow_all_attrs
        || (cfg.allow_exposed_attrs && name.starts_with(cfg.exposed_prefix.as_str()))
        || (cfg.allow_safe_attrs && cfg.safe_attrs.contains(name))
        || (cfg.allow_public_attrs && !name.starts_with('_'));
    // `prefix + name`, if exposed names are on and the object has it.
    let exposed = (cfg.allow_exposed_attrs && !cfg.exposed_prefix.is_empty())
        .then(|| {
            // Per call: built by hand, as `format!` costs several times more.
            let mut n = String::with_capacity(cfg.exposed_prefix.len() + name.len());
            n.push_str(&cfg.exposed_prefix);
            n.push_str(name);
            n
        })
        .filter(|n| has_attr(n));
    match exposed {
        // A plainly allowed name that exists wins over its exposed twin.
        Some(n) if !(plain && has_attr(name)) => Ok(Cow::Owned(n)),
        _ if plain => Ok(Cow::Borrowed(name)),
        _ => Err(deny()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An object with `exposed_foo`, `bar`, `_priv`, `__len__` and both `baz`/`exposed_baz`.
    fn has(n: &str) -> bool {
        matches!(
            n,
            "exposed_foo" | "bar" | "_priv" | "__len__" | "baz" | "exposed_baz" | "__class__"
        )
    }

    fn run(cfg: &Config, name: &str, perm: Permission) -> Option<String> {
        check_attr(cfg, name, perm, has)
            .ok()
            .map(|c| c.into_owned())
    }

    /// The names × flags table: each row is (config, name, permission, expected mapping).
    #[test]
    fn names_by_flags() {
        let d = Config::default();
        let public = Config::builder().allow_public_attrs(true).build();
        let all = Config::builder().allow_all_attrs(true).build();
        let no_exposed = Config::builder().allow_exposed_attrs(false).build();
        let no_safe = Config::builder().allow_safe_attrs(false).build();
        let no_get = Config::builder().allow_getattr(false).build();
        let set_ok = Config::builder().allow_setattr(true).build();
        let custom_prefix = Config::builder().exposed_prefix("pub_").build();
        use Permission::*;
        let rows: Vec<(&Config, &str, Permission, Option<&str>)> = vec![
            (&d, "foo", Get, Some("exposed_foo")),
            (&d, "exposed_foo", Get, Some("exposed_foo")),
            (&d, "bar", Get, None),
            (&d, "_priv", Get, None),
            (&d, "__class__", Get, None),
            (&d, "__dict__", Get, None),
            (&d, "__init__", Get, None),
            (&d, "__getattribute__", Get, None),
            (&d, "__len__", Get, Some("__len__")),
            (&d, "__missing_but_safe__", Get, None),
            (&d, "__iter__", Get, Some("__iter__")),
            (&d, "baz", Get, Some("exposed_baz")),
            (&d, "exposed_nothing", Get, Some("exposed_nothing")),
            (&d, "foo", Set, None),
            (&d, "foo", Del, None),
            (&set_ok, "foo", Set, Some("exposed_foo")),
            (&set_ok, "bar", Set, None),
            (&public, "bar", Get, Some("bar")),
            (&public, "foo", Get, Some("exposed_foo")),
            (&public, "baz", Get, Some("baz")),
            (&public, "_priv", Get, None),
            (&public, "__class__", Get, None),
            (&all, "_priv", Get, Some("_priv")),
            (&all, "__class__", Get, Some("__class__")),
            (&all, "foo", Get, Some("exposed_foo")),
            (&no_exposed, "foo", Get, None),
            (&no_exposed, "exposed_foo", Get, None),
            (&no_exposed, "__len__", Get, Some("__len__")),
            (&no_safe, "__len__", Get, None),
            (&no_safe, "foo", Get, Some("exposed_foo")),
            (&no_get, "foo", Get, None),
            (&no_get, "__len__", Get, None),
            (&custom_prefix, "foo", Get, None),
            (&custom_prefix, "exposed_foo", Get, None),
        ];
        for (cfg, name, perm, want) in rows {
            assert_eq!(
                run(cfg, name, perm).as_deref(),
                want,
                "name {name:?} perm {perm:?}"
            );
        }
    }

    #[test]
    fn denial_message_matches_python() {
        let e = check_attr(&Config::default(), "secret", Permission::Get, |_| false).unwrap_err();
        let exc: RemoteException = e.into();
        assert_eq!(exc.to_string(), "AttributeError: cannot access 'secret'");
        assert!(exc.attrs.is_empty());
    }

    #[test]
    fn a_refused_long_name_is_echoed_once_and_short() {
        let long = "_".repeat(1 << 20);
        let e = check_attr(&Config::default(), &long, Permission::Get, |_| false).unwrap_err();
        let exc: RemoteException = e.into();
        let cut = "_".repeat(crate::vinegar::MAX_ECHOED_NAME);
        assert_eq!(exc.message(), format!("cannot access '{cut}…'"));
        assert!(exc.to_value().repr().len() < 300);
    }
}
