//! The arguments of the outer attributes: `#[object(...)]` and `#[service(...)]`.

use proc_macro2::TokenStream;
use syn::parse::Parser;
use syn::punctuated::Punctuated;
use syn::{Error, LitStr, Path, Token};

/// Which macro is expanding.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Object,
    Service,
}

impl Kind {
    /// The attribute's name, for messages (`object` / `service`).
    pub(crate) fn attr_name(self) -> &'static str {
        match self {
            Kind::Object => "object",
            Kind::Service => "service",
        }
    }
}

/// Parsed outer-attribute arguments.
pub(crate) struct MacroArgs {
    /// `name = "pkg.Type"`: the type name (`name_pack`) the peer sees.
    pub(crate) name: Option<LitStr>,
    /// `crate = path`: where the runtime lives (default `::rpyc`).
    pub(crate) krate: Path,
    /// `aliases = ["A", "B"]` (services only).
    pub(crate) aliases: Option<Vec<LitStr>>,
    /// `mapping`: the type is a map; add `keys()`, `values()`, `items()` as dict views.
    pub(crate) mapping: bool,
    /// `fields(a, b)`: struct fields exposed as read-only data attributes (cloned on read).
    pub(crate) fields: Vec<syn::Ident>,
}

/// Parses `name = "...", crate = path, aliases = ["..."], mapping` (any order, each at most
/// once).
pub(crate) fn parse(tokens: TokenStream, kind: Kind) -> syn::Result<MacroArgs> {
    let mut name: Option<LitStr> = None;
    let mut krate: Option<Path> = None;
    let mut aliases: Option<Vec<LitStr>> = None;
    let mut mapping = false;
    let mut fields: Option<Vec<syn::Ident>> = None;
    let attr = kind.attr_name();

    let parser = syn::meta::parser(|meta| {
        if meta.path.is_ident("name") {
            if name.is_some() {
                return Err(meta.error("duplicate `name` argument"));
            }
            let lit: LitStr = meta.value()?.parse()?;
            if lit.value().is_empty() {
                return Err(Error::new_spanned(&lit, "the type name must not be empty"));
            }
            name = Some(lit);
        } else if meta.path.is_ident("mapping") {
            if mapping {
                return Err(meta.error("duplicate `mapping` argument"));
            }
            mapping = true;
        } else if meta.path.is_ident("fields") {
            if fields.is_some() {
                return Err(meta.error("duplicate `fields` argument"));
            }
            let content;
            syn::parenthesized!(content in meta.input);
            let list = Punctuated::<syn::Ident, Token![,]>::parse_terminated(&content)?;
            fields = Some(list.into_iter().collect());
        } else if meta.path.is_ident("crate") {
            if krate.is_some() {
                return Err(meta.error("duplicate `crate` argument"));
            }
            let input = meta.value()?;
            let path = if input.peek(LitStr) {
                let lit: LitStr = input.parse()?;
                lit.parse::<Path>()?
            } else {
                input.parse::<Path>()?
            };
            krate = Some(path);
        } else if meta.path.is_ident("aliases") {
            if kind == Kind::Object {
                return Err(meta.error(
                    "`aliases` is only valid in `#[service(...)]`: plain objects have no service name",
                ));
            }
            if aliases.is_some() {
                return Err(meta.error("duplicate `aliases` argument"));
            }
            let input = meta.value()?;
            let content;
            syn::bracketed!(content in input);
            let list = Punctuated::<LitStr, Token![,]>::parse_terminated(&content)?;
            if list.is_empty() {
                return Err(meta.error(
                    "`aliases` needs at least one name (omit it to derive the name from the type)",
                ));
            }
            for lit in &list {
                if lit.value().is_empty() {
                    return Err(Error::new_spanned(lit, "a service alias must not be empty"));
                }
            }
            aliases = Some(list.into_iter().collect());
        } else {
            let expected = match kind {
                Kind::Object => "`name = \"pkg.Type\"`, `mapping`, `fields(...)` or `crate = path`",
                Kind::Service => {
                    "`name = \"pkg.Type\"`, `aliases = [\"NAME\", ...]`, `mapping`, `fields(...)` \
                     or `crate = path`"
                }
            };
            let got = meta
                .path
                .get_ident()
                .map(|i| format!("`{i}`"))
                .unwrap_or_else(|| "this".to_string());
            return Err(meta.error(format!(
                "unknown `#[{attr}]` argument {got}; expected {expected}"
            )));
        }
        Ok(())
    });
    parser.parse2(tokens)?;

    Ok(MacroArgs {
        name,
        krate: krate.unwrap_or_else(|| syn::parse_quote!(::rpyc)),
        aliases,
        mapping,
        fields: fields.unwrap_or_default(),
    })
}
