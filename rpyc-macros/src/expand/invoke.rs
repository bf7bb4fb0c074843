//! The body of one remote call of a method member or of the `#[rpyc(call)]` method: fetching
//! arguments that arrived by reference where a container is wanted, converting each argument
//! to its parameter's type (a wrong one is a `TypeError`, never a panic), and running the
//! method: an `async fn` on the runtime, an `#[exposed(inline)]` one in place, any other
//! synchronous one on the blocking pool.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use syn::spanned::Spanned;
use syn::Path;

use super::model::{Callable, Param};
use super::respan;

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
pub(super) fn gen_invoke(c: &Callable, krate: &Path, redispatch: TokenStream) -> TokenStream {
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
