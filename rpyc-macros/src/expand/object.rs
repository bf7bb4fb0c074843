//! The impls the macros emit for the block's type, assembled here: `LocalObject` (its type
//! name, then the member table from `members` and the protocol hooks from `protocol`),
//! `IntoValue` (a returned value is sent by reference), and for a service the `Service` impl
//! from `service`.

use proc_macro2::TokenStream;
use quote::quote;
use syn::ItemImpl;

use super::model::Model;
use super::{members, protocol, service, unraw};
use crate::args::{Kind, MacroArgs};

/// The generated items for the analyzed block `imp`.
pub(super) fn generate(imp: &ItemImpl, model: &Model, args: &MacroArgs, kind: Kind) -> TokenStream {
    let krate = &args.krate;
    let p = quote!(#krate::__private);
    let ty = &imp.self_ty;
    let (impl_generics, _, where_clause) = imp.generics.split_for_impl();

    let type_name = match (&args.name, &model.type_ident) {
        (Some(n), _) => quote!(#n),
        (None, Some(ident)) => {
            let s = unraw(ident);
            quote!(::core::concat!(::core::env!("CARGO_CRATE_NAME"), ".", #s))
        }
        (None, None) => quote!(::core::stringify!(#ty)),
    };

    let members = members::generate(model, args);
    let protocol = protocol::generate(model, krate);
    let service = (kind == Kind::Service).then(|| service::generate(model, args, imp));

    quote! {
        #[automatically_derived]
        impl #impl_generics #krate::LocalObject for #ty #where_clause {
            fn type_name(&self) -> &str {
                #type_name
            }
            #members
            #protocol
        }

        #[automatically_derived]
        impl #impl_generics #p::IntoValue for #ty #where_clause {
            fn into_value(self) -> #p::Value {
                #krate::export(self)
            }
        }

        #service
    }
}
