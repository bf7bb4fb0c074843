//! The hook methods of a block: the lifecycle hooks (`#[on_connect]`, `#[on_disconnect]`,
//! services only, never members) and the `#[rpyc(...)]` protocol hooks (`call`, `repr`, `str`,
//! `hash`, `setattr`, `delattr`). Each is checked against the signature its role requires and
//! recorded in the `Model`; a second hook of one kind is an error.

use syn::{FnArg, Signature, Type};

use super::model::{Hook, Model};
use super::signature::{analyze_callable, check_simple, ret_span, special_type};
use crate::args::Kind;
use crate::attrs::{Errors, MethodAttrs, Special};

/// Records `sig` as the service's `#[on_connect]` and/or `#[on_disconnect]` hook, if `attrs`
/// mark it so (`fn_name` is its name without `r#`).
pub(super) fn lifecycle_hooks(
    sig: &Signature,
    attrs: &MethodAttrs,
    kind: Kind,
    fn_name: &str,
    model: &mut Model,
    errors: &mut Errors,
) {
    for (attr, which) in [
        (&attrs.on_connect, "on_connect"),
        (&attrs.on_disconnect, "on_disconnect"),
    ] {
        let Some(attr) = attr else { continue };
        if kind != Kind::Service {
            errors.spanned(
                attr,
                format!("`#[{which}]` is only valid in a `#[service]` impl block"),
            );
            continue;
        }
        if attrs.exposed.is_some() || fn_name.starts_with("exposed_") {
            errors.spanned(
                attr,
                format!("a `#[{which}]` hook cannot also be exposed: hooks are not members"),
            );
            continue;
        }
        if !check_simple(
            sig,
            1,
            &format!("`#[{which}]` hooks"),
            "fn(&self, conn: &Connection)",
            errors,
        ) || !check_hook_borrows_connection(sig, which, errors)
        {
            continue;
        }
        let slot = if which == "on_connect" {
            &mut model.on_connect
        } else {
            &mut model.on_disconnect
        };
        if let Some(prev) = slot {
            errors.spanned(
                attr,
                format!(
                    "duplicate `#[{which}]` hook: `{}` is already one",
                    prev.ident
                ),
            );
            continue;
        }
        *slot = Some(Hook {
            ident: sig.ident.clone(),
            ret_span: ret_span(sig),
        });
    }
}

/// Records `sig` as each `#[rpyc(...)]` protocol hook `attrs` name.
pub(super) fn protocol_hooks(
    sig: &Signature,
    attrs: &MethodAttrs,
    model: &mut Model,
    errors: &mut Errors,
) {
    for (special, key) in &attrs.specials {
        let k = special.key();
        let taken_by = match special {
            Special::Call => model.call.as_ref().map(|c| &c.ident),
            Special::Repr => model.repr.as_ref().map(|h| &h.ident),
            Special::Str => model.str_.as_ref().map(|h| &h.ident),
            Special::Hash => model.hash.as_ref().map(|h| &h.ident),
            Special::SetAttr => model.setattr.as_ref().map(|(h, _)| &h.ident),
            Special::DelAttr => model.delattr.as_ref().map(|h| &h.ident),
        };
        if let Some(prev) = taken_by {
            errors.spanned(
                key,
                format!("duplicate `#[rpyc({k})]`: `{prev}` already implements it"),
            );
            continue;
        }
        let (n, shape) = match special {
            Special::Call => {
                // Any callable signature: analyzed like an exposed method.
                if let Some(c) = analyze_callable(sig, "__call__".to_string(), errors) {
                    model.call = Some(c);
                }
                continue;
            }
            Special::Repr | Special::Str => (0, "fn(&self) -> String"),
            Special::Hash => (0, "fn(&self) -> i64"),
            Special::SetAttr => (
                2,
                "fn(&self, name: &str, value: Value) -> Result<(), RemoteException>",
            ),
            Special::DelAttr => (1, "fn(&self, name: &str) -> Result<(), RemoteException>"),
        };
        if !check_simple(sig, n, &format!("`#[rpyc({k})]` methods"), shape, errors) {
            continue;
        }
        let hook = Hook {
            ident: sig.ident.clone(),
            ret_span: ret_span(sig),
        };
        match special {
            Special::Repr => model.repr = Some(hook),
            Special::Str => model.str_ = Some(hook),
            Special::Hash => model.hash = Some(hook),
            Special::DelAttr => model.delattr = Some(hook),
            Special::SetAttr => {
                let by_ref = matches!(
                    sig.inputs.iter().nth(2),
                    Some(FnArg::Typed(pt)) if matches!(&*pt.ty, Type::Reference(_))
                );
                model.setattr = Some((hook, by_ref));
            }
            Special::Call => {}
        }
    }
}

/// A hook's parameter is `&Connection`: the hook borrows the connection, so `Connection` by
/// value or `&mut Connection` gets an error that says what to write (instead of the compiler's
/// type mismatch at the macro's call site).
fn check_hook_borrows_connection(sig: &Signature, which: &str, errors: &mut Errors) -> bool {
    let Some(FnArg::Typed(pt)) = sig.inputs.iter().nth(1) else {
        return true;
    };
    let how = match special_type(&pt.ty) {
        Some((name, None)) if name == "Connection" => "not by value",
        Some((name, Some(true))) if name == "Connection" => "not `&mut`",
        _ => return true,
    };
    errors.spanned(
        &pt.ty,
        format!("a `#[{which}]` hook borrows the connection: write `&Connection` ({how})"),
    );
    false
}
