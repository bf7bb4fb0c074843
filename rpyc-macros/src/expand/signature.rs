//! Signatures of the methods the generated code calls: the checks every role shares (`&self`,
//! no type parameters, not `unsafe`), the fixed shapes of hooks and getters, and the
//! parameters of a callable member (converted arguments, `CallContext`, `Connection`, `Rest`).

use proc_macro2::{Span, TokenStream};
use quote::ToTokens;
use syn::spanned::Spanned;
use syn::{FnArg, GenericParam, Pat, ReturnType, Signature, Type};

use super::model::{Callable, Param};
use super::unraw;
use crate::attrs::Errors;

/// Where errors about a method's result point: its return type, or its name if it has none.
pub(super) fn ret_span(sig: &Signature) -> Span {
    match &sig.output {
        ReturnType::Type(_, ty) => ty.span(),
        ReturnType::Default => sig.ident.span(),
    }
}

/// Checks that the receiver is `&self` (or `self: &Self`); reports an error otherwise.
pub(super) fn check_receiver(sig: &Signature, what: &str, errors: &mut Errors) -> bool {
    match sig.inputs.first() {
        Some(FnArg::Receiver(r)) => {
            let shared_ref = match (&r.reference, &r.colon_token, &*r.ty) {
                (Some(_), _, _) => r.mutability.is_none(),
                (None, Some(_), Type::Reference(tr)) => tr.mutability.is_none(),
                _ => false,
            };
            if !shared_ref {
                errors.spanned(
                    r,
                    format!(
                        "{what} must take `&self`: remote objects are shared behind an `Arc`, so \
                         `self` by value or `&mut self` is not possible (use interior mutability, \
                         e.g. a `Mutex` or atomics, for state)"
                    ),
                );
            }
            shared_ref
        }
        _ => {
            errors.spanned(
                &sig.ident,
                format!(
                    "{what} must take `&self` (associated functions cannot be called remotely)"
                ),
            );
            false
        }
    }
}

/// Checks that the method has no type or const parameters and is neither `unsafe` nor
/// variadic; reports each problem.
pub(super) fn check_not_generic(sig: &Signature, what: &str, errors: &mut Errors) -> bool {
    let generic = sig
        .generics
        .params
        .iter()
        .any(|p| !matches!(p, GenericParam::Lifetime(_)));
    if generic {
        errors.spanned(
            &sig.generics,
            format!("{what} cannot have type or const parameters"),
        );
    }
    let mut ok = !generic;
    if let Some(u) = &sig.unsafety {
        errors.spanned(u, format!("{what} cannot be `unsafe`"));
        ok = false;
    }
    if let Some(v) = &sig.variadic {
        errors.spanned(v, format!("{what} cannot be variadic"));
        ok = false;
    }
    ok
}

/// Exactly `n` parameters after `&self`, not async. `what` names the method kind
/// ("`#[rpyc(repr)]` methods"), `shape` its expected signature.
pub(super) fn check_simple(
    sig: &Signature,
    n: usize,
    what: &str,
    shape: &str,
    errors: &mut Errors,
) -> bool {
    let msg = format!("{what} must be `{shape}`");
    let mut ok = true;
    if let Some(a) = &sig.asyncness {
        errors.spanned(a, format!("{msg} (not async)"));
        ok = false;
    }
    let extra = sig.inputs.len().saturating_sub(1);
    if extra != n {
        if extra > n {
            let tokens: TokenStream = sig
                .inputs
                .iter()
                .skip(1 + n)
                .map(|a| a.to_token_stream())
                .collect();
            errors.spanned(tokens, format!("{msg}: remove this parameter"));
        } else {
            errors.spanned(&sig.inputs, format!("{msg}: a parameter is missing"));
        }
        ok = false;
    }
    ok
}

/// The last path segment of a type (behind one optional reference) if it has no generics.
pub(super) fn special_type(ty: &Type) -> Option<(String, Option<bool>)> {
    let (inner, mutable) = match ty {
        Type::Reference(r) => (&*r.elem, Some(r.mutability.is_some())),
        other => (other, None),
    };
    let inner = match inner {
        Type::Group(g) => &*g.elem,
        Type::Paren(p) => &*p.elem,
        t => t,
    };
    let Type::Path(tp) = inner else { return None };
    if tp.qself.is_some() {
        return None;
    }
    let seg = tp.path.segments.last()?;
    if !seg.arguments.is_empty() {
        return None;
    }
    let name = seg.ident.to_string();
    matches!(name.as_str(), "CallContext" | "Connection" | "Rest").then_some((name, mutable))
}

/// The parameters of an exposed method or of the `#[rpyc(call)]` method (receiver and generics
/// are already checked).
pub(super) fn analyze_callable(
    sig: &Signature,
    func_name: String,
    errors: &mut Errors,
) -> Option<Callable> {
    let mut ok = true;
    let mut params = Vec::new();
    let mut n_positional = 0usize;
    let mut seen_rest = false;
    for arg in sig.inputs.iter().skip(1) {
        let FnArg::Typed(pt) = arg else { continue };
        match special_type(&pt.ty) {
            Some((name, Some(true))) => {
                errors.spanned(
                    &pt.ty,
                    format!(
                        "take `{name}` by value or by shared reference (`&{name}`), not `&mut`"
                    ),
                );
                ok = false;
            }
            Some((name, by_ref)) if name == "CallContext" => params.push(Param::Ctx {
                by_ref: by_ref.is_some(),
            }),
            Some((name, by_ref)) if name == "Connection" => params.push(Param::Conn {
                by_ref: by_ref.is_some(),
            }),
            Some((_, Some(_))) => {
                errors.spanned(
                    &pt.ty,
                    "take `Rest` by value: it owns the remaining positional arguments",
                );
                ok = false;
            }
            Some(_) => {
                if seen_rest {
                    errors.spanned(&pt.ty, "only one `Rest` parameter is allowed");
                    ok = false;
                }
                seen_rest = true;
                params.push(Param::Rest);
            }
            None => {
                let name = match &*pt.pat {
                    Pat::Ident(pi) if pi.subpat.is_none() => unraw(&pi.ident),
                    other => {
                        errors.spanned(
                            other,
                            "use a plain identifier for this parameter: its name is the keyword argument's name",
                        );
                        ok = false;
                        continue;
                    }
                };
                let index = if seen_rest {
                    None
                } else {
                    n_positional += 1;
                    Some(n_positional - 1)
                };
                params.push(Param::Regular {
                    ty: pt.ty.clone(),
                    name,
                    index,
                });
            }
        }
    }
    ok.then(|| Callable {
        ident: sig.ident.clone(),
        is_async: sig.asyncness.is_some(),
        inline: false,
        params,
        n_positional,
        func_name,
        ret_span: ret_span(sig),
    })
}
