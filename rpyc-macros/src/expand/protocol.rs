//! The protocol hooks of the generated `LocalObject` impl, each present only when the block
//! marks a method for it: `call` and `is_callable` (`#[rpyc(call)]`, its body from `invoke`),
//! `rpyc_setattr`, `rpyc_delattr`, `repr`, `str` and `hash`. A hook's result is converted with
//! the span of the method's return type, so a wrong type is reported there.

use proc_macro2::{Span, TokenStream};
use quote::quote;
use syn::{Ident, Path};

use super::invoke::gen_invoke;
use super::model::{Hook, Model};
use super::respan;

/// The protocol hook methods of the `LocalObject` impl.
pub(super) fn generate(model: &Model, krate: &Path) -> TokenStream {
    let p = quote!(#krate::__private);

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

    quote! {
        #call
        #setattr
        #delattr
        #repr
        #str_
        #hash
    }
}
