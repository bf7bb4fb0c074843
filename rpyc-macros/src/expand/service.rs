//! The `Service` impl of a `#[service]` block: the `#[on_connect]` / `#[on_disconnect]` hooks
//! and the `aliases` of the outer arguments (upper-cased, as RPyC does). Without `aliases`,
//! `Service`'s default names the service after its type (`CalculatorService` → `CALCULATOR`).

use proc_macro2::{Span, TokenStream};
use quote::quote;
use syn::{Ident, ItemImpl};

use super::model::{Hook, Model};
use crate::args::MacroArgs;

/// `impl Service for ty` (with the block's generics).
pub(super) fn generate(model: &Model, args: &MacroArgs, imp: &ItemImpl) -> TokenStream {
    let krate = &args.krate;
    let ty = &imp.self_ty;
    let (impl_generics, _, where_clause) = imp.generics.split_for_impl();
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
        impl #impl_generics #krate::Service for #ty #where_clause {
            #on_connect
            #on_disconnect
            #aliases
        }
    }
}
