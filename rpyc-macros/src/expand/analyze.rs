//! The analysis of the annotated impl block: the walk over its items, which methods and
//! constants are members and under which names (the `exposed_` prefix, `#[exposed(name)]`,
//! dunder names), the fields of `#[object(fields(...))]`, and the `dead_code` allowance of the
//! items left out. Hooks are sorted out by `hook_roles`, signatures checked by `signature`.

use std::collections::HashMap;

use proc_macro2::TokenStream;
use quote::{format_ident, ToTokens};
use syn::spanned::Spanned;
use syn::{Ident, ImplItem, ImplItemFn, ItemImpl, Type};

use super::hook_roles::{lifecycle_hooks, protocol_hooks};
use super::model::{MemberEntry, MemberKind, Model};
use super::signature::{
    analyze_callable, check_not_generic, check_receiver, check_simple, ret_span,
};
use super::unraw;
use crate::args::Kind;
use crate::attrs::{self, Errors, Exposed, MethodAttrs};

/// The struct fields of `#[object(fields(a, b))]`, exposed as read-only data attributes.
pub(super) fn add_fields(model: &mut Model, fields: &[Ident], errors: &mut Errors) {
    let mut taken: HashMap<String, Ident> = model
        .members
        .iter()
        .flat_map(|m| m.names.iter().map(|n| (n.clone(), format_ident!("member"))))
        .collect();
    for f in fields {
        let name = unraw(f);
        let names = vec![format!("exposed_{name}"), name];
        if register(&names, f, &f.to_token_stream(), &mut taken, errors) {
            model.members.push(MemberEntry {
                names,
                kind: MemberKind::Field { ident: f.clone() },
            });
        }
    }
}

/// A Python special name (`__len__`), registered as written, without an `exposed_` twin.
fn is_dunder(name: &str) -> bool {
    name.len() > 4 && name.starts_with("__") && name.ends_with("__")
}

/// The real names a member is registered under, and the name shown in its errors.
fn registered_names(fn_name: &str, exposed: Option<&Exposed>) -> Option<(Vec<String>, String)> {
    match exposed {
        None => {
            let short = fn_name.strip_prefix("exposed_")?;
            if short.is_empty() {
                return None;
            }
            Some((vec![fn_name.to_string()], short.to_string()))
        }
        Some(e) => {
            let base = e
                .name
                .as_ref()
                .map(|n| n.value())
                .unwrap_or_else(|| fn_name.to_string());
            if is_dunder(&base) {
                return Some((vec![base.clone()], base));
            }
            let short = base
                .strip_prefix("exposed_")
                .filter(|s| !s.is_empty())
                .unwrap_or(&base);
            Some((
                vec![format!("exposed_{short}"), short.to_string()],
                short.to_string(),
            ))
        }
    }
}

/// Checks the block (inherent, not generic, a named type), strips the helper attributes of
/// its items and records their roles; `None` when the block itself cannot be expanded.
pub(super) fn analyze(imp: &mut ItemImpl, kind: Kind, errors: &mut Errors) -> Option<Model> {
    let attr = kind.attr_name();
    let mut ok = true;
    if let Some((_, trait_path, _)) = &imp.trait_ {
        errors.spanned(
            trait_path,
            format!(
                "`#[{attr}]` must be placed on an inherent impl block (`impl Type {{ ... }}`), not on a \
                 trait impl: it generates the `LocalObject` impl itself"
            ),
        );
        ok = false;
    }
    let mut model = Model::default();
    match &*imp.self_ty {
        Type::Path(tp) if tp.qself.is_none() => {
            model.type_ident = tp.path.segments.last().map(|s| s.ident.clone());
        }
        other => {
            errors.spanned(
                other,
                format!("`#[{attr}]` needs a named type (`impl Type {{ ... }}`)"),
            );
            ok = false;
        }
    }

    // Where each registered name comes from (for duplicate errors).
    let mut taken: HashMap<String, Ident> = HashMap::new();

    for item in &mut imp.items {
        match item {
            ImplItem::Fn(f) => {
                let attrs = attrs::take_method_attrs(&mut f.attrs, errors);
                if !used_by_the_macro(&attrs, &unraw(&f.sig.ident)) {
                    allow_dead_code(&mut f.attrs);
                }
                analyze_fn(f, attrs, kind, &mut model, &mut taken, errors);
            }
            ImplItem::Const(c) => {
                let member = analyze_const(c, &mut model, &mut taken, errors);
                if !member {
                    allow_dead_code(&mut c.attrs);
                }
            }
            ImplItem::Type(t) => attrs::reject_on_non_method(&mut t.attrs, errors),
            ImplItem::Macro(m) => attrs::reject_on_non_method(&mut m.attrs, errors),
            _ => {}
        }
    }
    ok.then_some(model)
}

/// Whether the generated code calls this method: a member (marked or named `exposed_…`), a
/// lifecycle hook or a `#[rpyc(...)]` protocol hook.
fn used_by_the_macro(attrs: &MethodAttrs, fn_name: &str) -> bool {
    attrs.exposed.is_some()
        || registered_names(fn_name, None).is_some()
        || attrs.on_connect.is_some()
        || attrs.on_disconnect.is_some()
        || !attrs.specials.is_empty()
}

/// Marks an item of the block that is not a member `#[allow(dead_code)]`.
///
/// Leaving a method or constant of a `#[service]`/`#[object]` block unmarked is how it is kept
/// out of the remote surface (a member switched off, a helper kept beside the members); that
/// is a decision, not an oversight, so it gets no `dead_code` warning (and the block needs no
/// `#[allow(dead_code)]` of its own). Helpers in another `impl` block are linted as usual.
fn allow_dead_code(attrs: &mut Vec<syn::Attribute>) {
    let already = attrs.iter().any(|a| {
        a.path().is_ident("allow") && a.meta.to_token_stream().to_string().contains("dead_code")
    });
    if !already {
        attrs.push(syn::parse_quote!(#[allow(dead_code)]));
    }
}

/// The roles of one method: hooks (see `hook_roles`) and member, each checked.
fn analyze_fn(
    f: &ImplItemFn,
    attrs: MethodAttrs,
    kind: Kind,
    model: &mut Model,
    taken: &mut HashMap<String, Ident>,
    errors: &mut Errors,
) {
    let sig = &f.sig;
    let fn_name = unraw(&sig.ident);

    // The receiver and generics are checked once, whatever roles the method has.
    let role = match &attrs.exposed {
        Some(e) if e.is_attr => Some("`#[exposed(attr)]` getters".to_string()),
        Some(_) => Some("`#[exposed]` methods".to_string()),
        None if registered_names(&fn_name, None).is_some() => {
            Some(format!("the exposed method `{fn_name}`"))
        }
        None => attrs
            .on_connect
            .as_ref()
            .map(|_| "`#[on_connect]` hooks".to_string())
            .or_else(|| {
                attrs
                    .on_disconnect
                    .as_ref()
                    .map(|_| "`#[on_disconnect]` hooks".to_string())
            })
            .or_else(|| {
                attrs
                    .specials
                    .first()
                    .map(|(s, _)| format!("`#[rpyc({})]` methods", s.key()))
            }),
    };
    let Some(role) = role else { return };
    // Not short-circuiting: report both problems.
    if !(check_receiver(sig, &role, errors) & check_not_generic(sig, &role, errors)) {
        return;
    }

    lifecycle_hooks(sig, &attrs, kind, &fn_name, model, errors);
    protocol_hooks(sig, &attrs, model, errors);

    // Members.
    let Some((names, func_name)) = registered_names(&fn_name, attrs.exposed.as_ref()) else {
        return;
    };
    if let Some(e) = &attrs.exposed {
        if let Some(inline) = &e.inline {
            if e.is_attr {
                errors.spanned(
                    inline,
                    "`inline` is for synchronous methods; `#[exposed(attr)]` getters always run \
                     on the runtime",
                );
                return;
            }
            if sig.asyncness.is_some() {
                errors.spanned(
                    inline,
                    "`inline` is for synchronous methods: an `async fn` always runs on the runtime",
                );
                return;
            }
        }
    }
    let kind = match &attrs.exposed {
        Some(e) if e.is_attr => {
            if !check_simple(
                sig,
                0,
                "`#[exposed(attr)]` getters",
                "fn(&self) -> T",
                errors,
            ) {
                return;
            }
            MemberKind::Attr {
                ident: sig.ident.clone(),
                ret_span: ret_span(sig),
            }
        }
        _ => match analyze_callable(sig, func_name, errors) {
            Some(mut c) => {
                c.inline = attrs.exposed.as_ref().is_some_and(|e| e.inline.is_some());
                MemberKind::Method(c)
            }
            None => return,
        },
    };
    let span_tokens: TokenStream = match &attrs.exposed {
        Some(e) => match &e.name {
            Some(n) => n.to_token_stream(),
            None => e.attr.to_token_stream(),
        },
        None => sig.ident.to_token_stream(),
    };
    if !register(&names, &sig.ident, &span_tokens, taken, errors) {
        return;
    }
    model.members.push(MemberEntry { names, kind });
}

/// An associated constant: a data attribute if it is `#[exposed]` or named `exposed_…` (RPyC's
/// `exposed_answer = 42`). An upper-case name is exposed in lower case
/// (`THE_ANSWER` → `the_answer`), as a Python attribute would be named.
/// Returns false when it is not a member at all (see [`allow_dead_code`]).
fn analyze_const(
    c: &mut syn::ImplItemConst,
    model: &mut Model,
    taken: &mut HashMap<String, Ident>,
    errors: &mut Errors,
) -> bool {
    let exposed = attrs::take_const_attrs(&mut c.attrs, errors);
    let ident_name = unraw(&c.ident);
    let python_name = if ident_name.chars().any(|ch| ch.is_ascii_lowercase()) {
        ident_name.clone()
    } else {
        ident_name.to_ascii_lowercase()
    };
    let Some((names, _)) = registered_names(&python_name, exposed.as_ref()) else {
        return false;
    };
    if !register(&names, &c.ident, &c.ident.to_token_stream(), taken, errors) {
        return true;
    }
    model.members.push(MemberEntry {
        names,
        kind: MemberKind::Const {
            ident: c.ident.clone(),
            ty_span: c.ty.span(),
        },
    });
    true
}

/// Claims member names for `owner`; reports a clash (at `span`) and returns false if one is
/// taken already.
fn register(
    names: &[String],
    owner: &Ident,
    span: &TokenStream,
    taken: &mut HashMap<String, Ident>,
    errors: &mut Errors,
) -> bool {
    for n in names {
        if let Some(prev) = taken.get(n) {
            errors.spanned(
                span,
                format!("the member name `{n}` is already used by `{prev}`"),
            );
            return false;
        }
    }
    for n in names {
        taken.insert(n.clone(), owner.clone());
    }
    true
}
