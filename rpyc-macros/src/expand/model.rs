//! The model of an annotated impl block: what the analysis (`analyze`, `hook_roles`,
//! `signature`) finds and the generation (`object`, `members`, `protocol`, `invoke`,
//! `service`) emits code for. Plain data, no logic.

use proc_macro2::Span;
use syn::{Ident, Type};

/// How a method parameter is filled.
pub(super) enum Param {
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
pub(super) struct Callable {
    pub(super) ident: Ident,
    pub(super) is_async: bool,
    /// A synchronous method run on the runtime (`#[exposed(inline)]`), not on the blocking
    /// pool.
    pub(super) inline: bool,
    pub(super) params: Vec<Param>,
    /// Positional parameters before any `Rest` (the limit for `check_no_extra`).
    pub(super) n_positional: usize,
    /// The name shown in argument errors (`add`, `__getitem__`, `__call__`).
    pub(super) func_name: String,
    /// The span of the return type (where `IntoReturn` errors point).
    pub(super) ret_span: Span,
}

/// What a member is, and so how it is read or called.
pub(super) enum MemberKind {
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

/// A member and every name it is registered under.
pub(super) struct MemberEntry {
    pub(super) names: Vec<String>,
    pub(super) kind: MemberKind,
}

/// A one-purpose method (`#[rpyc(repr)]`, `#[on_connect]`, …).
pub(super) struct Hook {
    pub(super) ident: Ident,
    pub(super) ret_span: Span,
}

/// Everything the generated impls are made from.
#[derive(Default)]
pub(super) struct Model {
    pub(super) type_ident: Option<Ident>,
    pub(super) members: Vec<MemberEntry>,
    pub(super) call: Option<Callable>,
    pub(super) repr: Option<Hook>,
    pub(super) str_: Option<Hook>,
    pub(super) hash: Option<Hook>,
    /// The setattr hook and whether it takes the value by reference.
    pub(super) setattr: Option<(Hook, bool)>,
    pub(super) delattr: Option<Hook>,
    pub(super) on_connect: Option<Hook>,
    pub(super) on_disconnect: Option<Hook>,
}
