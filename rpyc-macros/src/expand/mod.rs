//! The expansion of `#[object]` / `#[service]`: parse the outer arguments and the impl block,
//! analyze the block into a `Model` (`model`), then generate the trait impls from it.
//!
//! This module owns the pipeline and the two token helpers every stage shares (`unraw`,
//! `respan`). Each stage is its own module, so that what is checked and what is emitted can be
//! read one concern at a time: analysis (`analyze`, `hook_roles`, `signature`) fills the
//! `Model` (`model`); generation (`object`, `members`, `protocol`, `invoke`, `service`) reads
//! it. The crate's Layout table (`lib.rs`) says what each module owns.

mod analyze;
mod hook_roles;
mod invoke;
mod members;
mod model;
mod object;
mod protocol;
mod service;
mod signature;

use proc_macro2::{Group, Span, TokenStream, TokenTree};
use quote::quote;
use syn::{Ident, ItemImpl};

use crate::args::{self, Kind};
use crate::attrs::Errors;

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

    let mut model = analyze::analyze(&mut imp, kind, &mut errors);
    if let (Some(model), Some(args)) = (&mut model, &args) {
        analyze::add_fields(model, &args.fields, &mut errors);
    }
    match (errors.into_error(), args, model) {
        (None, Some(args), Some(model)) => {
            let generated = object::generate(&imp, &model, &args, kind);
            quote!(#imp #generated)
        }
        (err, _, _) => {
            // Re-emit the (stripped) impl block so that the errors above are the only ones.
            let err = err.map(|e| e.to_compile_error());
            quote!(#err #imp)
        }
    }
}

/// An identifier's name without its `r#` prefix (the name the peer uses).
pub(crate) fn unraw(ident: &Ident) -> String {
    let s = ident.to_string();
    s.strip_prefix("r#").map(str::to_string).unwrap_or(s)
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
