//! The member table of the generated `LocalObject` impl: `member_names`, `has_member`,
//! `get_member` (data attributes, constants and fields are read there) and `call_method` (one
//! arm a method, its body from `invoke`), plus the members the macro adds itself: `__iter__`
//! for an iterator that defines only `__next__`, and the dict views of `#[object(mapping)]`.

use proc_macro2::{Span, TokenStream};
use quote::quote;
use syn::Ident;

use super::invoke::gen_invoke;
use super::model::{MemberKind, Model};
use super::respan;
use crate::args::MacroArgs;

/// The member methods of the `LocalObject` impl.
pub(super) fn generate(model: &Model, args: &MacroArgs) -> TokenStream {
    let krate = &args.krate;
    let p = quote!(#krate::__private);

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

    quote! {
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
    }
}
