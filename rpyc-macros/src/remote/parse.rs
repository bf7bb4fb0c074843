//! `#[remote]`'s model of a trait: what each item may be, checked with errors on the offending
//! tokens (associated types, methods, parameters and their roles, return types).

use proc_macro2::TokenStream;
use quote::quote;
use syn::{
    FnArg, GenericArgument, Ident, ItemTrait, LitStr, Pat, PathArguments, ReturnType, TraitItem,
    TraitItemFn, Type, TypeParamBound,
};

use crate::attrs::Errors;

/// An associated type of the trait, `type Counter: Counter;`: on the wire an object by
/// reference, a `CounterClient` on the client side and `CounterServer<T::Counter>` when served.
pub(super) struct Assoc {
    pub(super) ident: Ident,
    /// The remote trait it is bound by (the last segment of the bound's path).
    pub(super) bound: syn::Path,
}

/// What a method returns, as far as the generated code cares.
pub(super) enum Ret {
    /// A plain value `T` (infallible on the service side).
    Plain(Type),
    /// `Result<T, E>` (or a one-argument alias such as `rpyc::Result<T>`): `T`.
    Result(Type),
}

/// How a member is reached.
pub(super) enum Role {
    /// Called: `proxy.name(args)`.
    Method,
    /// `#[rpyc(attr)]`: read as a data attribute, `proxy.name`.
    Getter,
    /// `#[rpyc(set = "name")]`: writes the data attribute `name`, `proxy.name = v`.
    Setter(String),
}

/// A parameter after `&self`.
pub(super) struct Param {
    pub(super) ident: Ident,
    pub(super) ty: Type,
    /// Filled by the server from the call (`CallContext`, `Connection`): not sent by clients.
    pub(super) context: bool,
    /// `Option<T>`: sent by keyword when `Some`, omitted when `None`.
    pub(super) optional: bool,
    /// `#[rpyc(keyword)]`: always sent by keyword.
    pub(super) keyword: bool,
}

/// A trait method.
pub(super) struct Method {
    pub(super) ident: Ident,
    /// The name on the wire.
    pub(super) name: String,
    pub(super) is_async: bool,
    pub(super) inline: bool,
    pub(super) role: Role,
    pub(super) params: Vec<Param>,
    pub(super) ret: Ret,
    /// `Self::X` returned directly: the associated type `X`.
    pub(super) returns_assoc: Option<usize>,
    pub(super) docs: Vec<syn::Attribute>,
}

#[derive(Default)]
pub(super) struct TraitModel {
    pub(super) assocs: Vec<Assoc>,
    pub(super) methods: Vec<Method>,
}

/// Reads the trait's items, strips the `#[rpyc(...)]` helper attributes, and checks each item.
pub(super) fn parse(tr: &mut ItemTrait, errors: &mut Errors) -> TraitModel {
    let mut model = TraitModel::default();
    if !tr.generics.params.is_empty() {
        errors.spanned(
            &tr.generics,
            "a `#[remote]` trait cannot be generic: its methods are called by name over the wire",
        );
    }
    for item in &mut tr.items {
        match item {
            TraitItem::Type(t) => {
                let bounds: Vec<&syn::TraitBound> = t
                    .bounds
                    .iter()
                    .filter_map(|b| match b {
                        TypeParamBound::Trait(tb) => Some(tb),
                        _ => None,
                    })
                    .collect();
                match (bounds.as_slice(), t.default.is_some(), t.generics.params.is_empty()) {
                    ([one], false, true) => model.assocs.push(Assoc {
                        ident: t.ident.clone(),
                        bound: one.path.clone(),
                    }),
                    _ => errors.spanned(
                        &*t,
                        "an associated type of a `#[remote]` trait names the remote trait of the object it stands for, \
                         and nothing else: `type Counter: Counter;` (where `Counter` is a `#[remote]` trait too)",
                    ),
                }
            }
            TraitItem::Fn(f) => {
                if let Some(m) = parse_method(f, errors) {
                    model.methods.push(m);
                }
            }
            other => errors.spanned(
                &*other,
                "a `#[remote]` trait holds methods and associated types only",
            ),
        }
    }
    // `Self::X` in a return type: which associated type.
    for m in &mut model.methods {
        let ty = match &m.ret {
            Ret::Plain(t) | Ret::Result(t) => t,
        };
        if let Some(ident) = self_assoc(ty) {
            match model.assocs.iter().position(|a| a.ident == *ident) {
                Some(i) => m.returns_assoc = Some(i),
                None => errors.spanned(
                    ty,
                    format!("`Self::{ident}` is not an associated type of this trait"),
                ),
            }
        } else if mentions_self(ty) {
            errors.spanned(
                ty,
                "an associated type is returned by itself (`Result<Self::Counter>`), not inside another type",
            );
        }
        for p in &m.params {
            if mentions_self(&p.ty) {
                errors.spanned(
                    &p.ty,
                    "parameters of a `#[remote]` trait cannot use `Self`: pass the object's client type or a plain value",
                );
            }
        }
    }
    let mut seen: Vec<&str> = Vec::new();
    for m in &model.methods {
        let key = match &m.role {
            Role::Setter(_) => continue,
            _ => m.name.as_str(),
        };
        if seen.contains(&key) {
            errors.spanned(
                &m.ident,
                format!("two members of this trait are named `{key}` on the wire"),
            );
        }
        seen.push(key);
    }
    model
}

/// `Self::X` (and only that): `X`.
pub(super) fn self_assoc(ty: &Type) -> Option<&Ident> {
    match ty {
        Type::Path(tp) if tp.qself.is_none() && tp.path.segments.len() == 2 => {
            let mut it = tp.path.segments.iter();
            let first = it.next()?;
            let second = it.next()?;
            (first.ident == "Self" && second.arguments.is_empty()).then_some(&second.ident)
        }
        _ => None,
    }
}

/// Whether `Self` appears anywhere in the type's tokens.
pub(super) fn mentions_self(ty: &Type) -> bool {
    fn scan(ts: TokenStream) -> bool {
        ts.into_iter().any(|tt| match tt {
            proc_macro2::TokenTree::Ident(i) => i == "Self",
            proc_macro2::TokenTree::Group(g) => scan(g.stream()),
            _ => false,
        })
    }
    scan(quote!(#ty))
}

/// The last path segment's identifier and its generic arguments, for a path type.
pub(super) fn last_segment(ty: &Type) -> Option<&syn::PathSegment> {
    match ty {
        Type::Path(tp) if tp.qself.is_none() => tp.path.segments.last(),
        _ => None,
    }
}

/// `Option<T>`'s `T`.
pub(super) fn option_inner(ty: &Type) -> Option<&Type> {
    let seg = last_segment(ty)?;
    if seg.ident != "Option" {
        return None;
    }
    match &seg.arguments {
        PathArguments::AngleBracketed(a) if a.args.len() == 1 => match a.args.first()? {
            GenericArgument::Type(t) => Some(t),
            _ => None,
        },
        _ => None,
    }
}

pub(super) fn parse_method(f: &mut TraitItemFn, errors: &mut Errors) -> Option<Method> {
    let mut ok = true;
    // `#[rpyc(keyword)]` on a parameter: always sent by keyword (Python's keyword-only
    // parameters, or a name the service expects). Stripped here; the order is kept.
    let mut keywords = Vec::new();
    for input in f.sig.inputs.iter_mut() {
        let FnArg::Typed(pt) = input else { continue };
        let mut keyword = false;
        let mut rest = Vec::new();
        for attr in std::mem::take(&mut pt.attrs) {
            if !attr.path().is_ident("rpyc") {
                rest.push(attr);
                continue;
            }
            let r = attr.parse_nested_meta(|meta| {
                if meta.path.is_ident("keyword") {
                    keyword = true;
                    Ok(())
                } else {
                    Err(meta.error(
                        "unknown `#[rpyc(...)]` argument on a parameter; expected `keyword` (always sent by keyword)",
                    ))
                }
            });
            if let Err(e) = r {
                errors.push(e);
                ok = false;
            }
        }
        pt.attrs = rest;
        keywords.push(keyword);
    }
    let sig = &f.sig;
    let mut name = crate::expand::unraw(&sig.ident);
    let mut inline = false;
    let mut role = Role::Method;
    let mut rest = Vec::new();
    for attr in std::mem::take(&mut f.attrs) {
        if !attr.path().is_ident("rpyc") {
            rest.push(attr);
            continue;
        }
        let r = attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("name") {
                let lit: LitStr = meta.value()?.parse()?;
                if lit.value().is_empty() {
                    return Err(meta.error("the wire name must not be empty"));
                }
                name = lit.value();
            } else if meta.path.is_ident("attr") {
                role = Role::Getter;
            } else if meta.path.is_ident("set") {
                let lit: LitStr = meta.value()?.parse()?;
                role = Role::Setter(lit.value());
            } else if meta.path.is_ident("inline") {
                inline = true;
            } else {
                return Err(meta.error(
                    "unknown `#[rpyc(...)]` argument in a `#[remote]` trait; expected `name = \"...\"`, `attr`, `set = \"attribute\"` or `inline`",
                ));
            }
            Ok(())
        });
        if let Err(e) = r {
            errors.push(e);
            ok = false;
        }
    }
    f.attrs = rest;
    if f.default.is_some() {
        errors.spanned(
            &f.sig.ident,
            "a method of a `#[remote]` trait has no default body: the client calls the peer, the service implements it",
        );
        ok = false;
    }
    if !sig.generics.params.is_empty() {
        errors.spanned(
            &sig.generics,
            "a method of a `#[remote]` trait cannot be generic: its types are what travels on the wire",
        );
        ok = false;
    }
    match sig.inputs.first() {
        Some(FnArg::Receiver(r)) if r.reference.is_some() && r.mutability.is_none() => {}
        _ => {
            errors.spanned(
                &sig.ident,
                "a method of a `#[remote]` trait takes `&self` (the service is shared by every call)",
            );
            ok = false;
        }
    }
    let mut params = Vec::new();
    let mut keywords = keywords.into_iter();
    for input in sig.inputs.iter().skip(1) {
        let FnArg::Typed(pt) = input else { continue };
        let keyword = keywords.next().unwrap_or(false);
        let Pat::Ident(pi) = &*pt.pat else {
            errors.spanned(
                &pt.pat,
                "use a plain name for a parameter: it is the keyword name on the wire",
            );
            ok = false;
            continue;
        };
        let ty = (*pt.ty).clone();
        let context =
            last_segment(&ty).is_some_and(|s| s.ident == "CallContext" || s.ident == "Connection");
        let optional = option_inner(&ty).is_some();
        params.push(Param {
            ident: pi.ident.clone(),
            ty,
            context,
            optional,
            keyword,
        });
    }
    let ret = match &sig.output {
        ReturnType::Default => {
            errors.spanned(
                &sig.ident,
                "a method of a `#[remote]` trait returns a value or a `Result` (`-> rpyc::Result<()>` for nothing)",
            );
            ok = false;
            Ret::Plain(syn::parse_quote!(()))
        }
        ReturnType::Type(_, ty) => match last_segment(ty) {
            Some(seg) if seg.ident == "Result" => match &seg.arguments {
                PathArguments::AngleBracketed(a) if !a.args.is_empty() && a.args.len() <= 2 => {
                    match a.args.first() {
                        Some(GenericArgument::Type(t)) => Ret::Result(t.clone()),
                        _ => Ret::Plain((**ty).clone()),
                    }
                }
                _ => Ret::Plain((**ty).clone()),
            },
            _ => Ret::Plain((**ty).clone()),
        },
    };
    match &role {
        Role::Getter if params.iter().any(|p| !p.context) || sig.asyncness.is_some() => {
            errors.spanned(
                &sig.ident,
                "an `#[rpyc(attr)]` getter is `fn name(&self) -> T` (not async, no parameters): it is read on every attribute access",
            );
            ok = false;
        }
        Role::Setter(_) if params.len() != 1 || sig.asyncness.is_some() => {
            errors.spanned(
                &sig.ident,
                "an `#[rpyc(set = \"name\")]` setter is `fn set_name(&self, value: T) -> rpyc::Result<()>` (not async)",
            );
            ok = false;
        }
        _ => {}
    }
    ok.then(|| Method {
        ident: sig.ident.clone(),
        name,
        is_async: sig.asyncness.is_some(),
        inline,
        role,
        params,
        ret,
        returns_assoc: None,
        docs: f
            .attrs
            .iter()
            .filter(|a| a.path().is_ident("doc"))
            .cloned()
            .collect(),
    })
}
