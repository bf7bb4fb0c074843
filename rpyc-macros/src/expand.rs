//! Analysis of the annotated impl block and generation of the trait impls.

use std::collections::HashMap;

use proc_macro2::{Group, Span, TokenStream, TokenTree};
use quote::{format_ident, quote, ToTokens};
use syn::spanned::Spanned;
use syn::{
    FnArg, GenericParam, Ident, ImplItem, ImplItemFn, ItemImpl, Pat, Path, ReturnType, Signature,
    Type,
};

use crate::args::{self, Kind, MacroArgs};
use crate::attrs::{self, Errors, Exposed, MethodAttrs, Special};

/// Expands `#[object]` / `#[service]`.
pub(crate) fn expand(args: TokenStream, item: TokenStream, kind: Kind) -> TokenStream {
    let mut errors = Errors::default();
    let args = match args::parse(args, kind) {
        Ok(a) => Some(a),
        Err(e) => {
            errors.push(e);
            None
        }
    };

    let mut imp: ItemImpl = match syn::parse2(item.clone()) {
        Ok(i) => i,
        Err(_) => {
            errors.spanned(
                &item,
                format!(
                    "`#[{}]` must be placed on an inherent impl block: `impl Type {{ ... }}`",
                    kind.attr_name()
                ),
            );
            let err = errors.into_error().map(|e| e.to_compile_error());
            return quote!(#err #item);
        }
    };

    let mut model = analyze(&mut imp, kind, &mut errors);
    if let (Some(model), Some(args)) = (&mut model, &args) {
        add_fields(model, &args.fields, &mut errors);
    }
    match (errors.into_error(), args, model) {
        (None, Some(args), Some(model)) => {
            let generated = generate(&imp, &model, &args, kind);
            quote!(#imp #generated)
        }
        (err, _, _) => {
            // Re-emit the (stripped) impl block so that the errors above are the only ones.
            let err = err.map(|e| e.to_compile_error());
            quote!(#err #imp)
        }
    }
}

/// The struct fields of `#[object(fields(a, b))]`, exposed as read-only data attributes.
fn add_fields(model: &mut Model, fields: &[Ident], errors: &mut Errors) {
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

/// How a method parameter is filled.
enum Param {
    /// A converted argument: `args.take::<ty>(index, name)`; `index` is `None` for parameters
    /// after a `Rest` (keyword-only, as in Python).
    Regular {
        ty: Box<Type>,
        name: String,
        index: Option<usize>,
    },
    /// `CallContext` (`by_ref`: `&CallContext`).
    Ctx { by_ref: bool },
    /// `Connection` (`by_ref`: `&Connection`).
    Conn { by_ref: bool },
    /// `Rest`: the remaining positional arguments.
    Rest,
}

/// A method callable by the peer (an exposed method, or the `#[rpyc(call)]` method).
struct Callable {
    ident: Ident,
    is_async: bool,
    /// A synchronous method run on the runtime (`#[exposed(inline)]`), not on the blocking
    /// pool.
    inline: bool,
    params: Vec<Param>,
    /// Positional parameters before any `Rest` (the limit for `check_no_extra`).
    n_positional: usize,
    /// The name shown in argument errors (`add`, `__getitem__`, `__call__`).
    func_name: String,
    /// The span of the return type (where `IntoReturn` errors point).
    ret_span: Span,
}

enum MemberKind {
    Method(Callable),
    /// A data attribute read through a `&self` getter.
    Attr {
        ident: Ident,
        ret_span: Span,
    },
    /// An exposed associated constant (`#[exposed] const ANSWER: i64 = 42;`).
    Const {
        ident: Ident,
        ty_span: Span,
    },
    /// A field of the struct, exposed read-only by `#[object(fields(...))]`.
    Field {
        ident: Ident,
    },
}

struct MemberEntry {
    names: Vec<String>,
    kind: MemberKind,
}

/// A one-purpose method (`#[rpyc(repr)]`, `#[on_connect]`, …).
struct Hook {
    ident: Ident,
    ret_span: Span,
}

#[derive(Default)]
struct Model {
    type_ident: Option<Ident>,
    members: Vec<MemberEntry>,
    call: Option<Callable>,
    repr: Option<Hook>,
    str_: Option<Hook>,
    hash: Option<Hook>,
    /// The setattr hook and whether it takes the value by reference.
    setattr: Option<(Hook, bool)>,
    delattr: Option<Hook>,
    on_connect: Option<Hook>,
    on_disconnect: Option<Hook>,
}

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

fn analyze(imp: &mut ItemImpl, kind: Kind, errors: &mut Errors) -> Option<Model> {
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
    if !imp.generics.params.is_empty() || imp.generics.where_clause.is_some() {
        errors.spanned(
            &imp.generics,
            format!("`#[{attr}]` does not support generic impl blocks; implement it for a concrete type"),
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

    // Lifecycle hooks: services only, never members.
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

    // `#[rpyc(...)]` protocol hooks.
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

fn unraw(ident: &Ident) -> String {
    let s = ident.to_string();
    s.strip_prefix("r#").map(str::to_string).unwrap_or(s)
}

fn ret_span(sig: &Signature) -> Span {
    match &sig.output {
        ReturnType::Type(_, ty) => ty.span(),
        ReturnType::Default => sig.ident.span(),
    }
}

/// Checks that the receiver is `&self` (or `self: &Self`); reports an error otherwise.
fn check_receiver(sig: &Signature, what: &str, errors: &mut Errors) -> bool {
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

fn check_not_generic(sig: &Signature, what: &str, errors: &mut Errors) -> bool {
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
fn check_simple(sig: &Signature, n: usize, what: &str, shape: &str, errors: &mut Errors) -> bool {
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

/// The last path segment of a type (behind one optional reference) if it has no generics.
fn special_type(ty: &Type) -> Option<(String, Option<bool>)> {
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
fn analyze_callable(sig: &Signature, func_name: String, errors: &mut Errors) -> Option<Callable> {
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

/// Gives every token (including interpolated paths such as `#krate`) the span `span`, so that a
/// trait-bound error on a generated call points at the user's tokens (e.g. the return type).
fn respan(tokens: TokenStream, span: Span) -> TokenStream {
    tokens
        .into_iter()
        .map(|tt| match tt {
            TokenTree::Group(g) => {
                let mut ng = Group::new(g.delimiter(), respan(g.stream(), span));
                ng.set_span(span);
                TokenTree::Group(ng)
            }
            mut other => {
                other.set_span(span);
                other
            }
        })
        .collect()
}

/// The statement that fetches, before anything is converted, the content of arguments that
/// arrived by reference where the parameter's type wants a container (a Python list for a
/// `Vec<T>`): the method is then entered again, through `redispatch`, with the fetched values.
/// Nothing when the method has no converted parameter.
fn gen_fetch_prologue(c: &Callable, krate: &Path, redispatch: &TokenStream) -> TokenStream {
    let p = quote!(#krate::__private);
    let params: Vec<TokenStream> = c
        .params
        .iter()
        .filter_map(|param| match param {
            Param::Regular { ty, name, index } => {
                let index = match index {
                    Some(i) => quote!(#i),
                    None => quote!(::core::primitive::usize::MAX),
                };
                Some(quote! {
                    #krate::fetch::ArgContent {
                        index: #index,
                        name: #name,
                        content: <#ty as #p::FromValue>::content,
                    }
                })
            }
            _ => None,
        })
        .collect();
    if params.is_empty() {
        return TokenStream::new();
    }
    quote! {
        let __rpyc_params = [#(#params),*];
        if #krate::Args::wants_fetch(&args, &__rpyc_params) {
            return ::std::boxed::Box::pin(async move {
                #krate::Args::fetch(&mut args, &ctx, &__rpyc_params).await?;
                #redispatch.await
            });
        }
    }
}

/// Statements that take the arguments and evaluate to the call's `BoxFuture<CallResult>`.
/// Expects `self: Arc<Self>`, `ctx: CallContext` and `mut args: Args` in scope; `redispatch`
/// calls the method again (after arguments were fetched). The call's future is an async
/// method's future, an inline method's result, or a synchronous method's body sent to the
/// blocking pool (`run_blocking`).
fn gen_invoke(c: &Callable, krate: &Path, redispatch: TokenStream) -> TokenStream {
    let p = quote!(#krate::__private);
    let err_ret = quote! {
        return ::std::boxed::Box::pin(::core::future::ready(::core::result::Result::Err(__rpyc_err)))
    };
    let mut stmts = vec![gen_fetch_prologue(c, krate, &redispatch)];
    let mut call_args = Vec::new();
    for (i, param) in c.params.iter().enumerate() {
        let var = format_ident!("__rpyc_arg{}", i);
        match param {
            Param::Regular { ty, name, index } => {
                let index = match index {
                    Some(i) => quote!(#i),
                    None => quote!(::core::primitive::usize::MAX),
                };
                let take_fn = respan(quote!(#krate::Args::take), ty.span());
                let take = quote!(#take_fn::<#ty>(&mut args, #index, #name));
                stmts.push(quote! {
                    let #var: #ty = match #take {
                        ::core::result::Result::Ok(__rpyc_v) => __rpyc_v,
                        ::core::result::Result::Err(__rpyc_err) => #err_ret,
                    };
                });
                call_args.push(quote!(#var));
            }
            Param::Rest => {
                let n = c.n_positional;
                stmts.push(quote! { let #var = #krate::Rest(#krate::Args::rest(&mut args, #n)); });
                call_args.push(quote!(#var));
            }
            Param::Ctx { by_ref: true } => call_args.push(quote!(&ctx)),
            Param::Ctx { by_ref: false } => {
                call_args.push(quote!(::core::clone::Clone::clone(&ctx)))
            }
            Param::Conn { by_ref: true } => call_args.push(quote!(#krate::CallContext::conn(&ctx))),
            Param::Conn { by_ref: false } => {
                call_args.push(quote!(::core::clone::Clone::clone(#krate::CallContext::conn(&ctx))))
            }
        }
    }
    let n = c.n_positional;
    let func_name = &c.func_name;
    stmts.push(quote! {
        if let ::core::result::Result::Err(__rpyc_err) = #krate::Args::check_no_extra(&args, #n, #func_name) {
            #err_ret;
        }
    });
    let ident = &c.ident;
    // The whole conversion carries the return type's span: a type that is not `IntoReturn`
    // is reported there.
    let call = quote!(Self::#ident(&*self, #(#call_args),*));
    let await_ = c.is_async.then(|| quote!(.await));
    let ret = respan(
        quote!(#p::IntoReturn::into_return(#call #await_)),
        c.ret_span,
    );
    if c.is_async {
        stmts.push(quote! {
            ::std::boxed::Box::pin(async move { #ret })
        });
    } else if c.inline {
        stmts.push(quote! {
            ::std::boxed::Box::pin(::core::future::ready(#ret))
        });
    } else {
        // The body runs on the blocking pool under the connection's limit of synchronous
        // calls; the arguments are converted here, so a wrong one costs no hop.
        stmts.push(quote! {
            #krate::run_blocking(ctx, move |ctx| #ret)
        });
    }
    quote!(#(#stmts)*)
}

fn generate(imp: &ItemImpl, model: &Model, args: &MacroArgs, kind: Kind) -> TokenStream {
    let krate = &args.krate;
    let p = quote!(#krate::__private);
    let ty = &imp.self_ty;

    let type_name = match (&args.name, &model.type_ident) {
        (Some(n), _) => quote!(#n),
        (None, Some(ident)) => {
            let s = unraw(ident);
            quote!(::core::concat!(::core::env!("CARGO_CRATE_NAME"), ".", #s))
        }
        (None, None) => quote!(::core::stringify!(#ty)),
    };

    // Members the macro adds: `__iter__` returning the object itself for an iterator that
    // defines only `__next__` (Python's iterator protocol), and the dict views of `mapping`.
    let has = |n: &str| model.members.iter().any(|m| m.names.iter().any(|x| x == n));
    let mut synthesized: Vec<(Vec<String>, TokenStream)> = Vec::new();
    if has("__next__") && !has("__iter__") {
        synthesized.push((
            vec!["__iter__".to_string()],
            quote!(#krate::export_arc(self)),
        ));
    }
    if args.mapping {
        for (view, kind) in [("keys", "Keys"), ("values", "Values"), ("items", "Items")] {
            if has(view) || has(&format!("exposed_{view}")) {
                continue;
            }
            let kind = Ident::new(kind, Span::call_site());
            synthesized.push((
                vec![format!("exposed_{view}"), view.to_string()],
                quote!(#krate::export(#krate::views::DictView::new(
                    self,
                    #krate::views::ViewKind::#kind,
                ))),
            ));
        }
    }
    let synthesized_arms = synthesized.iter().map(|(names, value)| {
        quote! {
            #(#names)|* => {
                let _ = (&ctx, &args);
                ::std::boxed::Box::pin(::core::future::ready(::core::result::Result::Ok(#value)))
            }
        }
    });
    let synthesized_get = synthesized.iter().map(
        |(names, _)| quote!(#(#names)|* => ::core::option::Option::Some(#krate::Member::Method),),
    );

    let all_names: Vec<&String> = model
        .members
        .iter()
        .flat_map(|m| &m.names)
        .chain(synthesized.iter().flat_map(|(n, _)| n))
        .collect();
    let has_member = if all_names.is_empty() {
        quote!({
            let _ = name;
            false
        })
    } else {
        quote!(::core::matches!(name, #(#all_names)|*))
    };

    let get_arms = model.members.iter().map(|m| {
        let names = &m.names;
        match &m.kind {
            MemberKind::Method(_) => quote! {
                #(#names)|* => ::core::option::Option::Some(#krate::Member::Method),
            },
            MemberKind::Attr { ident, ret_span } => {
                let value = respan(
                    quote!(#p::IntoValue::into_value(Self::#ident(self))),
                    *ret_span,
                );
                quote! {
                    #(#names)|* => ::core::option::Option::Some(#krate::Member::Value(#value)),
                }
            }
            MemberKind::Const { ident, ty_span } => {
                let value = respan(quote!(#p::IntoValue::into_value(Self::#ident)), *ty_span);
                quote! {
                    #(#names)|* => ::core::option::Option::Some(#krate::Member::Value(#value)),
                }
            }
            MemberKind::Field { ident } => {
                let value = respan(
                    quote!(#p::IntoValue::into_value(::core::clone::Clone::clone(&self.#ident))),
                    ident.span(),
                );
                quote! {
                    #(#names)|* => ::core::option::Option::Some(#krate::Member::Value(#value)),
                }
            }
        }
    });

    let get_arms = get_arms.chain(synthesized_get);

    let method_arms: Vec<TokenStream> = model
        .members
        .iter()
        .filter_map(|m| match &m.kind {
            MemberKind::Method(c) => {
                let names = &m.names;
                let first = &names[0];
                let body = gen_invoke(
                    c,
                    krate,
                    quote!(<Self as #krate::LocalObject>::call_method(self, #first, ctx, args)),
                );
                Some(quote! { #(#names)|* => { #body } })
            }
            MemberKind::Attr { .. } | MemberKind::Const { .. } | MemberKind::Field { .. } => None,
        })
        .chain(synthesized_arms)
        .collect();

    let call_method = (!method_arms.is_empty()).then(|| {
        quote! {
            #[allow(unused_mut, unused_variables)]
            fn call_method(
                self: ::std::sync::Arc<Self>,
                name: &str,
                ctx: #krate::CallContext,
                mut args: #krate::Args,
            ) -> #krate::BoxFuture<#krate::CallResult> {
                match name {
                    #(#method_arms)*
                    _ => {
                        let __rpyc_err = #p::RemoteException::no_attribute(
                            <Self as #krate::LocalObject>::type_name(&*self),
                            name,
                        );
                        ::std::boxed::Box::pin(::core::future::ready(::core::result::Result::Err(__rpyc_err)))
                    }
                }
            }
        }
    });

    let call = model.call.as_ref().map(|c| {
        let body = gen_invoke(
            c,
            krate,
            quote!(<Self as #krate::LocalObject>::call(self, ctx, args)),
        );
        quote! {
            #[allow(unused_mut, unused_variables)]
            fn call(
                self: ::std::sync::Arc<Self>,
                ctx: #krate::CallContext,
                mut args: #krate::Args,
            ) -> #krate::BoxFuture<#krate::CallResult> {
                #body
            }
            fn is_callable(&self) -> bool {
                true
            }
        }
    });

    let setattr = model.setattr.as_ref().map(|(h, by_ref)| {
        let ident = &h.ident;
        let value = if *by_ref { quote!(value) } else { quote!(::core::clone::Clone::clone(value)) };
        let result = respan(
            quote!(::core::result::Result::map_err(Self::#ident(self, name, #value), ::core::convert::Into::into)),
            h.ret_span,
        );
        quote! {
            fn rpyc_setattr(
                &self,
                name: &str,
                value: &#p::Value,
            ) -> ::core::option::Option<::core::result::Result<(), #p::RemoteException>> {
                ::core::option::Option::Some(#result)
            }
        }
    });
    let delattr = model.delattr.as_ref().map(|h| {
        let ident = &h.ident;
        let result = respan(
            quote!(::core::result::Result::map_err(Self::#ident(self, name), ::core::convert::Into::into)),
            h.ret_span,
        );
        quote! {
            fn rpyc_delattr(
                &self,
                name: &str,
            ) -> ::core::option::Option<::core::result::Result<(), #p::RemoteException>> {
                ::core::option::Option::Some(#result)
            }
        }
    });
    let string_hook = |fn_name: &str, h: &Hook| {
        let f = Ident::new(fn_name, Span::call_site());
        let ident = &h.ident;
        let string = respan(
            quote!(::core::convert::Into::<::std::string::String>::into(Self::#ident(self))),
            h.ret_span,
        );
        quote! {
            fn #f(&self) -> ::std::string::String {
                #string
            }
        }
    };
    let repr = model.repr.as_ref().map(|h| string_hook("repr", h));
    let str_ = model.str_.as_ref().map(|h| string_hook("str", h));
    let hash = model.hash.as_ref().map(|h| {
        let ident = &h.ident;
        let hash = respan(
            quote!(::core::convert::Into::<i64>::into(Self::#ident(self))),
            h.ret_span,
        );
        quote! {
            fn hash(&self) -> ::core::option::Option<i64> {
                ::core::option::Option::Some(#hash)
            }
        }
    });

    let service = (kind == Kind::Service).then(|| {
        let hook = |fn_name: &str, h: &Option<Hook>| {
            h.as_ref().map(|h| {
                let f = Ident::new(fn_name, Span::call_site());
                let ident = &h.ident;
                quote! {
                    fn #f(&self, conn: &#krate::Connection) {
                        Self::#ident(self, conn)
                    }
                }
            })
        };
        let on_connect = hook("on_connect", &model.on_connect);
        let on_disconnect = hook("on_disconnect", &model.on_disconnect);
        let aliases = args.aliases.as_ref().map(|list| {
            let upper = list.iter().map(|l| l.value().to_uppercase());
            quote! {
                fn service_aliases(&self) -> ::std::vec::Vec<::std::string::String> {
                    ::std::vec![#(::std::string::String::from(#upper)),*]
                }
            }
        });
        quote! {
            #[automatically_derived]
            impl #krate::Service for #ty {
                #on_connect
                #on_disconnect
                #aliases
            }
        }
    });

    quote! {
        #[automatically_derived]
        impl #krate::LocalObject for #ty {
            fn type_name(&self) -> &str {
                #type_name
            }
            fn member_names(&self) -> ::std::vec::Vec<::std::string::String> {
                ::std::vec![#(::std::string::String::from(#all_names)),*]
            }
            fn has_member(&self, name: &str) -> bool {
                #has_member
            }
            fn get_member(&self, name: &str) -> ::core::option::Option<#krate::Member> {
                match name {
                    #(#get_arms)*
                    _ => ::core::option::Option::None,
                }
            }
            #call_method
            #call
            #setattr
            #delattr
            #repr
            #str_
            #hash
        }

        #[automatically_derived]
        impl #p::IntoValue for #ty {
            fn into_value(self) -> #p::Value {
                #krate::export(self)
            }
        }

        #service
    }
}
