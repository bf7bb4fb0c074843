//! The inert helper attributes on methods (`#[exposed]`, `#[rpyc(...)]`, `#[on_connect]`,
//! `#[on_disconnect]`): parsing them and stripping them from the re-emitted impl block.

use std::fmt::Display;

use quote::ToTokens;
use syn::{Attribute, Error, Ident, LitStr, Meta};

/// Accumulates errors so that one expansion reports all of them at once.
#[derive(Default)]
pub(crate) struct Errors(Option<Error>);

impl Errors {
    pub(crate) fn push(&mut self, e: Error) {
        match &mut self.0 {
            Some(all) => all.combine(e),
            None => self.0 = Some(e),
        }
    }

    pub(crate) fn spanned(&mut self, tokens: impl ToTokens, msg: impl Display) {
        self.push(Error::new_spanned(tokens, msg));
    }

    pub(crate) fn into_error(self) -> Option<Error> {
        self.0
    }
}

/// `#[exposed]`, `#[exposed(attr)]`, `#[exposed(name = "x")]`, `#[exposed(inline)]`, and
/// combinations (`#[exposed(inline, name = "x")]`, `#[exposed(attr, name = "x")]`).
pub(crate) struct Exposed {
    /// The attribute itself, for error spans.
    pub(crate) attr: Attribute,
    /// `attr`: a data attribute (a getter) rather than a method.
    pub(crate) is_attr: bool,
    /// `name = "x"`: the name the peer uses.
    pub(crate) name: Option<LitStr>,
    /// `inline`: a cheap synchronous method, run on the runtime (the `inline` token, for
    /// error spans).
    pub(crate) inline: Option<Ident>,
}

/// The keys of `#[rpyc(...)]`.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Special {
    Call,
    Repr,
    Str,
    Hash,
    SetAttr,
    DelAttr,
}

impl Special {
    pub(crate) fn key(self) -> &'static str {
        match self {
            Special::Call => "call",
            Special::Repr => "repr",
            Special::Str => "str",
            Special::Hash => "hash",
            Special::SetAttr => "setattr",
            Special::DelAttr => "delattr",
        }
    }

    fn from_key(key: &str) -> Option<Special> {
        Some(match key {
            "call" => Special::Call,
            "repr" => Special::Repr,
            "str" => Special::Str,
            "hash" => Special::Hash,
            "setattr" => Special::SetAttr,
            "delattr" => Special::DelAttr,
            _ => return None,
        })
    }
}

const RPYC_KEYS: &str = "`call`, `repr`, `str`, `hash`, `setattr` or `delattr`";

/// The helper attributes found on one method.
#[derive(Default)]
pub(crate) struct MethodAttrs {
    pub(crate) exposed: Option<Exposed>,
    /// Each `#[rpyc(key)]` with the key's identifier (for spans).
    pub(crate) specials: Vec<(Special, Ident)>,
    pub(crate) on_connect: Option<Attribute>,
    pub(crate) on_disconnect: Option<Attribute>,
}

fn is_helper(attr: &Attribute) -> bool {
    let p = attr.path();
    p.is_ident("exposed")
        || p.is_ident("rpyc")
        || p.is_ident("on_connect")
        || p.is_ident("on_disconnect")
}

/// Removes the helper attributes from `attrs` and parses them.
pub(crate) fn take_method_attrs(attrs: &mut Vec<Attribute>, errors: &mut Errors) -> MethodAttrs {
    let mut out = MethodAttrs::default();
    let (helpers, kept): (Vec<Attribute>, Vec<Attribute>) =
        std::mem::take(attrs).into_iter().partition(is_helper);
    *attrs = kept;
    for attr in helpers {
        let path = attr.path();
        if path.is_ident("exposed") {
            if out.exposed.is_some() {
                errors.spanned(&attr, "duplicate `#[exposed]` attribute");
                continue;
            }
            match parse_exposed(attr) {
                Ok(e) => out.exposed = Some(e),
                Err(e) => errors.push(e),
            }
        } else if path.is_ident("rpyc") {
            parse_rpyc(&attr, &mut out.specials, errors);
        } else if path.is_ident("on_connect") || path.is_ident("on_disconnect") {
            let which = if path.is_ident("on_connect") {
                "on_connect"
            } else {
                "on_disconnect"
            };
            if !matches!(attr.meta, Meta::Path(_)) {
                errors.spanned(&attr, format!("`#[{which}]` takes no arguments"));
                continue;
            }
            let slot = if which == "on_connect" {
                &mut out.on_connect
            } else {
                &mut out.on_disconnect
            };
            if slot.is_some() {
                errors.spanned(&attr, format!("duplicate `#[{which}]` attribute"));
            } else {
                *slot = Some(attr);
            }
        }
    }
    out
}

/// Strips helper attributes from an item that is not a method, reporting each as an error.
pub(crate) fn reject_on_non_method(attrs: &mut Vec<Attribute>, errors: &mut Errors) {
    attrs.retain(|attr| {
        if is_helper(attr) {
            let name = attr
                .path()
                .get_ident()
                .map(|i| i.to_string())
                .unwrap_or_default();
            errors.spanned(
                attr,
                format!(
                    "`#[{name}]` is only valid on methods (`fn`) of the impl block{}",
                    if name == "exposed" {
                        " and on constants"
                    } else {
                        ""
                    }
                ),
            );
            false
        } else {
            true
        }
    });
}

fn parse_exposed(attr: Attribute) -> syn::Result<Exposed> {
    let mut is_attr = false;
    let mut name: Option<LitStr> = None;
    let mut inline: Option<Ident> = None;
    match &attr.meta {
        Meta::Path(_) => {}
        Meta::NameValue(_) => {
            return Err(Error::new_spanned(
                &attr,
                "expected `#[exposed]`, `#[exposed(name = \"...\")]`, `#[exposed(inline)]` or \
                 `#[exposed(attr)]`",
            ))
        }
        Meta::List(_) => {
            attr.parse_nested_meta(|meta| {
                if meta.path.is_ident("attr") {
                    if is_attr {
                        return Err(meta.error("duplicate `attr`"));
                    }
                    is_attr = true;
                } else if meta.path.is_ident("inline") {
                    if inline.is_some() {
                        return Err(meta.error("duplicate `inline`"));
                    }
                    inline = meta.path.get_ident().cloned();
                } else if meta.path.is_ident("name") {
                    if name.is_some() {
                        return Err(meta.error("duplicate `name`"));
                    }
                    let lit: LitStr = meta.value()?.parse()?;
                    if lit.value().is_empty() {
                        return Err(Error::new_spanned(
                            &lit,
                            "the exposed name must not be empty",
                        ));
                    }
                    name = Some(lit);
                } else {
                    return Err(meta.error(
                        "unknown `#[exposed]` argument; expected `attr`, `inline` or `name = \"...\"`",
                    ));
                }
                Ok(())
            })?;
        }
    }
    Ok(Exposed {
        attr,
        is_attr,
        name,
        inline,
    })
}

fn parse_rpyc(attr: &Attribute, specials: &mut Vec<(Special, Ident)>, errors: &mut Errors) {
    if !matches!(attr.meta, Meta::List(_)) {
        errors.spanned(
            attr,
            format!("expected `#[rpyc(key)]` with a key among {RPYC_KEYS}"),
        );
        return;
    }
    let res = attr.parse_nested_meta(|meta| {
        let Some(ident) = meta.path.get_ident().cloned() else {
            return Err(meta.error(format!("unknown `#[rpyc(...)]` key; expected {RPYC_KEYS}")));
        };
        let key = ident.to_string();
        match Special::from_key(&key) {
            Some(s) => {
                if meta.input.peek(syn::Token![=]) || meta.input.peek(syn::token::Paren) {
                    return Err(meta.error(format!("`#[rpyc({key})]` takes no value")));
                }
                if specials.iter().any(|(k, _)| *k == s) {
                    return Err(meta.error(format!("duplicate `{key}` key")));
                }
                specials.push((s, ident));
                Ok(())
            }
            None if key == "getattr" => Err(meta.error(
                "`#[rpyc(getattr)]` is not supported; expose data attributes with \
                 `#[exposed(attr)]` and methods with `#[exposed]`",
            )),
            None => Err(meta.error(format!(
                "unknown `#[rpyc(...)]` key `{key}`; expected {RPYC_KEYS}"
            ))),
        }
    });
    if let Err(e) = res {
        errors.push(e);
    }
}

/// The helper attributes of an associated constant: `#[exposed]` or `#[exposed(name = "x")]`
/// (returned); any other helper is reported.
pub(crate) fn take_const_attrs(attrs: &mut Vec<Attribute>, errors: &mut Errors) -> Option<Exposed> {
    let mut exposed: Option<Exposed> = None;
    let (helpers, kept): (Vec<Attribute>, Vec<Attribute>) =
        std::mem::take(attrs).into_iter().partition(is_helper);
    *attrs = kept;
    for attr in helpers {
        if !attr.path().is_ident("exposed") {
            let mut one = vec![attr];
            reject_on_non_method(&mut one, errors);
            continue;
        }
        if exposed.is_some() {
            errors.spanned(&attr, "duplicate `#[exposed]` attribute");
            continue;
        }
        match parse_exposed(attr) {
            Ok(e) if e.is_attr => errors.spanned(
                &e.attr,
                "a constant is a data attribute already: write `#[exposed]` without `attr`",
            ),
            Ok(e) => exposed = Some(e),
            Err(e) => errors.push(e),
        }
    }
    exposed
}
