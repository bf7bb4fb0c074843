//! `#[remote]`'s generated code: the typed client, its blocking twin and the server wrapper, from
//! the trait's model.

use proc_macro2::TokenStream;
use quote::quote;
use syn::ItemTrait;

use super::parse::*;
use super::{names, sibling};
use crate::args::{Kind, MacroArgs};

pub(super) fn generate(tr: &ItemTrait, model: &TraitModel, args: &MacroArgs) -> TokenStream {
    let krate = &args.krate;
    let p = quote!(#krate::__private);
    let vis = &tr.vis;
    let trait_ident = &tr.ident;
    let (client, blocking, server) = names(trait_ident);
    let trait_name = crate::expand::unraw(trait_ident);

    // The client's methods.
    let client_methods = model.methods.iter().map(|m| {
        let ident = &m.ident;
        let name = &m.name;
        let docs = &m.docs;
        let sent: Vec<&Param> = m.params.iter().filter(|p| !p.context).collect();
        let decl = sent.iter().map(|p| {
            let (i, t) = (&p.ident, &p.ty);
            quote!(#i: #t)
        });
        let (ret_ty, convert) = client_return(m, model, krate);
        let body = match &m.role {
            Role::Method => {
                let pushes = sent.iter().map(|p| {
                    let i = &p.ident;
                    let kw = crate::expand::unraw(i);
                    if p.optional {
                        quote! {
                            if let ::core::option::Option::Some(v) = #i {
                                args = args.kwarg(#kw, v);
                            }
                        }
                    } else if p.keyword {
                        quote!(args = args.kwarg(#kw, #i);)
                    } else {
                        quote!(args = args.arg(#i);)
                    }
                });
                quote! {
                    #[allow(unused_mut)]
                    let mut args = #krate::Args::new();
                    #(#pushes)*
                    let value = self.netref.call_method(#name, args).await?;
                    #convert
                }
            }
            Role::Getter => quote! {
                let value = self.netref.getattr(#name).await?;
                #convert
            },
            Role::Setter(attr) => {
                let v = &sent[0].ident;
                quote! {
                    self.netref.setattr(#attr, #v).await?;
                    #convert
                }
            }
        };
        quote! {
            #(#docs)*
            pub async fn #ident(&self, #(#decl),*) -> #krate::Result<#ret_ty> {
                #body
            }
        }
    });

    // The blocking client's methods.
    let blocking_methods = model.methods.iter().map(|m| {
        let ident = &m.ident;
        let docs = &m.docs;
        let sent: Vec<&Param> = m.params.iter().filter(|p| !p.context).collect();
        let decl = sent.iter().map(|p| {
            let (i, t) = (&p.ident, &p.ty);
            quote!(#i: #t)
        });
        let names_ = sent.iter().map(|p| &p.ident);
        let (ret_ty, map) = match m.returns_assoc {
            Some(i) => {
                let b = sibling(&model.assocs[i].bound, |id| names(id).1);
                (quote!(#b), quote!(.map(|c| c.blocking())))
            }
            None => (client_return(m, model, krate).0, quote!()),
        };
        quote! {
            #(#docs)*
            pub fn #ident(&self, #(#decl),*) -> #krate::Result<#ret_ty> {
                #krate::blocking::block_on(self.client.#ident(#(#names_),*))#map
            }
        }
    });

    // The server's forwarding methods, expanded by the `#[service]` pipeline.
    let mut setters = Vec::new();
    let forwards: Vec<TokenStream> = model
        .methods
        .iter()
        .filter_map(|m| {
            let ident = &m.ident;
            let name = &m.name;
            let decl = m.params.iter().map(|p| {
                let (i, t) = (&p.ident, &p.ty);
                quote!(#i: #t)
            });
            let pass = m.params.iter().map(|p| &p.ident);
            let call = quote!(<T as #trait_ident>::#ident(&self.0, #(#pass),*));
            let call = if m.is_async { quote!(#call.await) } else { call };
            let asyncness = m.is_async.then(|| quote!(async));
            let (ret, body) = server_return(m, model, call, krate);
            match &m.role {
                Role::Method => {
                    let marker = if m.inline {
                        quote!(#[exposed(name = #name, inline)])
                    } else {
                        quote!(#[exposed(name = #name)])
                    };
                    Some(quote! {
                        #marker
                        #asyncness fn #ident(&self, #(#decl),*) -> #ret { #body }
                    })
                }
                Role::Getter => Some(quote! {
                    #[exposed(attr, name = #name)]
                    fn #ident(&self) -> #ret { #body }
                }),
                Role::Setter(attr) => {
                    let Param { ty, .. } = &m.params[0];
                    setters.push(quote! {
                        #attr => {
                            let value: #ty = #p::FromValue::from_value(value)
                                .map_err(|e| #p::RemoteException::type_error(::std::format!("attribute '{}': {}", #attr, e)))?;
                            ::core::result::Result::map_err(<T as #trait_ident>::#ident(&self.0, value), ::core::convert::Into::into)
                        }
                    });
                    None
                }
            }
        })
        .collect();
    let setattr = (!setters.is_empty()).then(|| {
        quote! {
            #[rpyc(setattr)]
            fn __rpyc_setattr(&self, name: &str, value: #p::Value) -> ::core::result::Result<(), #p::RemoteException> {
                match name {
                    #(#setters)*
                    other => ::core::result::Result::Err(#p::RemoteException::attribute_error(
                        ::std::format!("cannot set attribute '{other}'"),
                    )),
                }
            }
        }
    });
    // The default type name, `crate.Trait`, as `#[service]` makes it (a literal is needed here:
    // the compiler gives the macro the crate's name in its environment).
    let type_name = match &args.name {
        Some(n) => n.value(),
        None => {
            let krate_name = std::env::var("CARGO_CRATE_NAME").unwrap_or_else(|_| "rpyc".into());
            format!("{krate_name}.{trait_name}")
        }
    };
    let aliases = match &args.aliases {
        Some(list) => quote!(#(#list),*),
        None => {
            let upper = trait_name.to_uppercase();
            let upper = upper
                .strip_suffix("SERVICE")
                .filter(|s| !s.is_empty())
                .unwrap_or(&upper)
                .to_string();
            quote!(#upper)
        }
    };
    let server_impl: syn::ItemImpl = syn::parse_quote! {
        impl<T: #trait_ident> #server<T> {
            #(#forwards)*
            #setattr
        }
    };
    let expanded = crate::expand::expand(
        quote!(name = #type_name, aliases = [#aliases], crate = #krate),
        quote!(#server_impl),
        Kind::Service,
    );

    let client_doc = format!(
        "A typed proxy of a remote [`{trait_name}`]: one `async` method per trait method, calling the peer by name (see `#[rpyc::remote]`)."
    );
    let blocking_doc = format!(
        "The blocking twin of [`{client}`]: the same methods, each blocking until the reply."
    );
    let server_doc = format!(
        "Serves any `T: {trait_name}` to RPyC peers (Python's `rpyc` included): a service (`server.serve(|| {server}::new(...))`) or an object returned by reference."
    );

    quote! {
        #[allow(dead_code)]
        #[doc = #client_doc]
        #[derive(Clone, Debug)]
        #vis struct #client {
            netref: #krate::NetRef,
        }

        #[allow(dead_code)]
        impl #client {
            /// The typed proxy of `netref` (no round trip: names are checked when called).
            #vis fn from_netref(netref: #krate::NetRef) -> Self {
                #client { netref }
            }
            /// The reference this proxy calls through (for the dynamic API).
            #vis fn netref(&self) -> &#krate::NetRef {
                &self.netref
            }
            /// A copy whose calls fail with `rpyc::Error::Timeout` after `timeout` (`None`:
            /// wait forever); the remote object is shared with `self`.
            #vis fn with_timeout(&self, timeout: ::core::option::Option<::std::time::Duration>) -> Self {
                #client { netref: self.netref.with_timeout(timeout) }
            }
            /// The blocking twin of this proxy.
            #vis fn blocking(&self) -> #blocking {
                #blocking { client: ::core::clone::Clone::clone(self) }
            }
            #(#client_methods)*
        }

        impl #krate::TypedProxy for #client {
            fn from_netref(netref: #krate::NetRef) -> Self {
                #client { netref }
            }
            fn netref(&self) -> &#krate::NetRef {
                &self.netref
            }
        }

        impl ::core::convert::From<#krate::NetRef> for #client {
            fn from(netref: #krate::NetRef) -> Self {
                #client { netref }
            }
        }

        impl #p::FromValue for #client {
            fn from_value(v: #p::Value) -> ::core::result::Result<Self, #p::ConvertError> {
                <#krate::NetRef as #p::FromValue>::from_value(v).map(|netref| #client { netref })
            }
        }

        impl #p::IntoValue for #client {
            fn into_value(self) -> #p::Value {
                #p::IntoValue::into_value(self.netref)
            }
        }

        #[allow(dead_code)]
        #[doc = #blocking_doc]
        #[derive(Clone, Debug)]
        #vis struct #blocking {
            client: #client,
        }

        #[allow(dead_code)]
        impl #blocking {
            /// The async proxy this one blocks on.
            #vis fn as_async(&self) -> &#client {
                &self.client
            }
            #(#blocking_methods)*
        }

        impl #krate::TypedProxy for #blocking {
            fn from_netref(netref: #krate::NetRef) -> Self {
                #blocking { client: #client { netref } }
            }
            fn netref(&self) -> &#krate::NetRef {
                &self.client.netref
            }
        }

        #[allow(dead_code)]
        #[doc = #server_doc]
        #vis struct #server<T: ?::core::marker::Sized>(::std::sync::Arc<T>);

        #[allow(dead_code)]
        impl<T: #trait_ident> #server<T> {
            /// Serves `service`.
            #vis fn new(service: T) -> Self {
                #server(::std::sync::Arc::new(service))
            }
            /// Serves a service shared with other owners (one `Arc` for every connection).
            #vis fn from_arc(service: ::std::sync::Arc<T>) -> Self {
                #server(service)
            }
            /// The served value.
            #vis fn get(&self) -> &::std::sync::Arc<T> {
                &self.0
            }
        }

        impl<T: ?::core::marker::Sized> ::core::clone::Clone for #server<T> {
            fn clone(&self) -> Self {
                #server(::std::sync::Arc::clone(&self.0))
            }
        }

        #expanded
    }
}

/// The client method's return type `T` (in `rpyc::Result<T>`) and how the reply `value`
/// becomes it.
pub(super) fn client_return(
    m: &Method,
    model: &TraitModel,
    krate: &syn::Path,
) -> (TokenStream, TokenStream) {
    let p = quote!(#krate::__private);
    if let Role::Setter(_) = m.role {
        return (quote!(()), quote!(::core::result::Result::Ok(())));
    }
    if let Some(i) = m.returns_assoc {
        let c = sibling(&model.assocs[i].bound, |id| names(id).0);
        return (
            quote!(#c),
            quote!(::core::result::Result::Ok(<#c as #p::FromValue>::from_value(value)?)),
        );
    }
    let t = match &m.ret {
        Ret::Plain(t) | Ret::Result(t) => t,
    };
    (
        quote!(#t),
        quote!(::core::result::Result::Ok(<#t as #p::FromValue>::from_value(value)?)),
    )
}

/// The forwarding method's return type and body on the server, from the trait call `call`.
pub(super) fn server_return(
    m: &Method,
    model: &TraitModel,
    call: TokenStream,
    krate: &syn::Path,
) -> (TokenStream, TokenStream) {
    let p = quote!(#krate::__private);
    let wrap = m.returns_assoc.map(|i| {
        let a = &model.assocs[i];
        let s = sibling(&a.bound, |id| names(id).2);
        let ident = &a.ident;
        (quote!(#s<T::#ident>), quote!(#s::new))
    });
    match (&m.ret, wrap) {
        (Ret::Plain(_), Some((ty, new))) => (ty, quote!(#new(#call))),
        (Ret::Result(_), Some((ty, new))) => (
            quote!(::core::result::Result<#ty, #p::RemoteException>),
            quote!(::core::result::Result::map(::core::result::Result::map_err(#call, ::core::convert::Into::into), #new)),
        ),
        (Ret::Plain(t), None) => (quote!(#t), call),
        (Ret::Result(t), None) => (
            quote!(::core::result::Result<#t, #p::RemoteException>),
            quote!(::core::result::Result::map_err(#call, ::core::convert::Into::into)),
        ),
    }
}
