//! The small IR every function is lowered to: a structured expression tree with just what the
//! taint analysis needs (bindings, calls, fields, control flow), independent of `syn`.
//!
//! Takes nothing; [`lower`] builds it from a `syn::File`. Architecture Invariant: nothing outside
//! `parse` and `ir::lower` sees `syn`; the analysis works on these types only.

pub mod lower;
mod macros;
pub mod sym;
pub mod walk;

pub use macros::inline_format_args;

use serde::{Deserialize, Serialize};

/// Identifier text, interned.
pub type Name = sym::Sym;

/// A 1-based line and column in the file being lowered.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct Span {
    /// Line.
    pub line: u32,
    /// Column.
    pub col: u32,
}

/// One lowered source file.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct FileIr {
    /// Module scopes: the file itself is scope 0, inline `mod x { }` blocks follow.
    pub scopes: Vec<Scope>,
    /// Functions and methods, including trait default methods.
    pub fns: Vec<FnIr>,
    /// Struct declarations.
    pub structs: Vec<StructIr>,
    /// `const` and `static` items.
    pub consts: Vec<ConstIr>,
    /// `mod name;` declarations (with their `#[path]`), for the module tree.
    pub mod_decls: Vec<ModDecl>,
    /// `type X = T;` items and the associated types of impls (`type Output = T;`).
    pub type_aliases: Vec<TypeAliasIr>,
}

/// `type Name = Ty;` in a module, or an associated type of an impl.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TypeAliasIr {
    /// Scope index.
    pub scope: u32,
    /// For an associated type, the impl's type (last segment).
    pub self_ty: Option<Name>,
    /// For an associated type of a trait impl, the trait name.
    pub trait_name: Option<Name>,
    /// Alias name.
    pub name: Name,
    /// What it stands for.
    pub ty: TypeIr,
}

/// A module scope with its `use` items.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Scope {
    /// Path of inline modules relative to the file's module (empty for the file itself).
    pub inline_path: Vec<Name>,
    /// `use` items: alias → full path.
    pub uses: Vec<UseItem>,
}

/// One name brought in by `use`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UseItem {
    /// The name in scope (`*` for a glob).
    pub alias: Name,
    /// The full path as written (`crate::telemetry::ids::advertising_id`).
    pub path: Vec<Name>,
}

/// `mod name;` with an optional `#[path = ".."]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ModDecl {
    /// Scope it is declared in.
    pub scope: u32,
    /// Module name.
    pub name: Name,
    /// `#[path]` value.
    pub path_attr: Option<String>,
}

/// A type as written, reduced to paths.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TypeIr {
    /// Path segments (`reqwest::blocking::Client`); empty for tuples, slices and the like.
    pub path: Vec<Name>,
    /// Generic arguments and inner types (`&T`, `[T]`, `dyn T` put `T` here with an empty path).
    pub args: Vec<TypeIr>,
    /// Written as `&mut T`.
    pub mutable_ref: bool,
}

/// A struct declaration.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StructIr {
    /// Struct name.
    pub name: Name,
    /// Scope index.
    pub scope: u32,
    /// Fields; tuple-struct fields are named `0`, `1`, ...
    pub fields: Vec<FieldIr>,
}

/// A struct field.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FieldIr {
    /// Field name.
    pub name: Name,
    /// Declared type.
    pub ty: TypeIr,
    /// `#[serde(skip)]` or `#[serde(skip_serializing)]`.
    pub skip_serializing: bool,
    /// The serde wire name when it is not the field's name (`#[serde(rename = "phoneNumber")]`,
    /// `#[serde(rename_all = "lowercase")]` on the struct).
    pub wire: Option<Name>,
}

/// A `const` or `static`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ConstIr {
    /// Name.
    pub name: Name,
    /// Scope index.
    pub scope: u32,
    /// Initializer.
    pub init: Expr,
}

/// A function or method.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FnIr {
    /// Function name.
    pub name: Name,
    /// Scope index.
    pub scope: u32,
    /// `impl X` / `impl Trait for X`: `X` (last segment).
    pub self_ty: Option<Name>,
    /// `impl Trait for X` or a trait's default method: the trait name.
    pub trait_name: Option<Name>,
    /// Parameters, `self` first for methods.
    pub params: Vec<ParamIr>,
    /// Declared return type.
    pub ret: Option<TypeIr>,
    /// Body.
    pub body: Block,
    /// Closures defined in the body, referred to by [`Expr::Closure`].
    pub closures: Vec<ClosureIr>,
    /// Span of the name.
    pub span: Span,
    /// `main`, `#[no_mangle]`/`extern` exports, functions exported to other languages
    /// (`#[uniffi::export]`, `#[frb]`, `#[wasm_bindgen]`, ..) and similar entry points.
    pub entry: bool,
    /// Declared `pub` (a free function, or a method of an inherent impl): in a library, part
    /// of its API, which its users may call with anything.
    pub public: bool,
    /// Type parameters in scope: the function's and its impl's or trait's (`T` of
    /// `impl<T: Transport> Slot<T>`). A value declared of such a type has no type to dispatch on.
    pub generics: Vec<Name>,
}

/// A parameter.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ParamIr {
    /// Pattern (`self` is a binding named `self`).
    pub pat: Pat,
    /// Declared type (`Self` for `self`).
    pub ty: Option<TypeIr>,
}

/// A closure body.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ClosureIr {
    /// Parameter patterns.
    pub params: Vec<Pat>,
    /// Body.
    pub body: Expr,
}

/// A block: statements, the last one possibly its value.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Block {
    /// Statements.
    pub stmts: Vec<Stmt>,
}

/// A `let` statement.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Local {
    /// Pattern.
    pub pat: Pat,
    /// Annotation.
    pub ty: Option<TypeIr>,
    /// Initializer.
    pub init: Option<Expr>,
    /// `let .. else` block.
    pub els: Option<Block>,
}

/// A statement.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Stmt {
    /// `let pat: ty = init else { .. };` (boxed: statements are mostly expressions, and a
    /// `let` inline would make every statement four times as large).
    Let(Box<Local>),
    /// An expression; `semi` false makes it the block's value when last.
    Expr {
        /// The expression.
        expr: Expr,
        /// Ends with `;`.
        semi: bool,
    },
}

/// Binary operator classes that matter for taint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum BinOp {
    /// `==`, `<`, ...: the result is a bool that carries no data.
    Compare,
    /// `!=`: a bool that carries no data; negates a guard it compares.
    NotEqual,
    /// `&&`.
    And,
    /// `||`.
    Or,
    /// Arithmetic, bit operations, `+` on strings: the result carries both sides.
    Combine,
}

/// A literal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Lit {
    /// A string (or byte string) literal.
    Str(String),
    /// `true` or `false`.
    Bool(bool),
    /// Any other literal.
    Other,
}

/// An expression.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Expr {
    /// A literal.
    Lit(Lit),
    /// A path: a local, a const, a unit struct or variant, a function item.
    Path {
        /// Segments.
        segs: Vec<Name>,
        /// Span of the last segment.
        span: Span,
    },
    /// `base.name`.
    Field {
        /// Base.
        base: Box<Expr>,
        /// Field name (`0` for tuple fields).
        name: Name,
        /// Span of the field name.
        span: Span,
    },
    /// `base[index]`.
    Index {
        /// Base.
        base: Box<Expr>,
        /// Index.
        index: Box<Expr>,
    },
    /// `func(args)`.
    Call {
        /// Callee, usually a path.
        func: Box<Expr>,
        /// Arguments.
        args: Vec<Expr>,
        /// Span of the callee's last segment.
        span: Span,
    },
    /// `recv.name(args)`.
    Method {
        /// Receiver.
        recv: Box<Expr>,
        /// Method name.
        name: Name,
        /// Arguments.
        args: Vec<Expr>,
        /// Span of the method name.
        span: Span,
    },
    /// A macro whose body was lowered as expressions (`format!`, `json!`, `write!`, `vec!`).
    Macro {
        /// Macro name (last path segment).
        name: Name,
        /// Arguments; for `write!`-like macros the first is the destination. Inline format
        /// arguments (`{imei}`) are appended as paths.
        args: Vec<Expr>,
        /// The format string, when the macro has one.
        format: Option<Box<str>>,
        /// Span of the macro name.
        span: Span,
    },
    /// `Path { field: value, ..rest }`.
    Struct {
        /// Type path.
        path: Vec<Name>,
        /// Fields with the span of each field name.
        fields: Vec<(Name, Expr, Span)>,
        /// `..rest`.
        rest: Option<Box<Expr>>,
    },
    /// `(a, b)`.
    Tuple(Vec<Expr>),
    /// `[a, b]`, `[a; n]`, `vec![..]`.
    Array(Vec<Expr>),
    /// Operators and wrappers that pass their operand's value through: `&`, `*`, `-`, `?`,
    /// `as`, parentheses.
    Wrap(Box<Expr>),
    /// `base.await`: the operand's value, or what its type's `IntoFuture` impl makes of it.
    Await {
        /// The awaited expression.
        base: Box<Expr>,
        /// Span of the `await` keyword.
        span: Span,
    },
    /// `&mut e`: like [`Expr::Wrap`], and an unknown callee may write through it.
    MutRef(Box<Expr>),
    /// `!e`.
    Not(Box<Expr>),
    /// `l op r`.
    Binary {
        /// Operator class.
        op: BinOp,
        /// Left.
        l: Box<Expr>,
        /// Right.
        r: Box<Expr>,
    },
    /// `place = value` or `place op= value`.
    Assign {
        /// Place.
        place: Box<Expr>,
        /// Value.
        value: Box<Expr>,
        /// `+=` and friends.
        compound: bool,
    },
    /// `if cond { then } else { els }`; `if let` puts an [`Expr::Let`] in `cond`.
    If {
        /// Condition.
        cond: Box<Expr>,
        /// Then block.
        then: Block,
        /// Else branch.
        els: Option<Box<Expr>>,
    },
    /// `let pat = expr` inside a condition.
    Let {
        /// Pattern (boxed, as in `For`: a `Pat` inline would make every `Expr` bigger).
        pat: Box<Pat>,
        /// Scrutinee.
        expr: Box<Expr>,
    },
    /// `match scrut { arms }`.
    Match {
        /// Scrutinee.
        scrut: Box<Expr>,
        /// Arms.
        arms: Vec<Arm>,
    },
    /// `for pat in iter { body }`.
    For {
        /// Pattern (boxed: see `Let`).
        pat: Box<Pat>,
        /// Iterated expression.
        iter: Box<Expr>,
        /// Body.
        body: Block,
    },
    /// `while cond { body }` and `loop { body }` (cond `None`).
    While {
        /// Condition.
        cond: Option<Box<Expr>>,
        /// Body.
        body: Block,
    },
    /// A block, `unsafe { }`, `async { }`.
    Block(Block),
    /// A closure: index into [`FnIr::closures`].
    Closure(u32),
    /// `return e`.
    Return(Option<Box<Expr>>),
    /// `break e` / `continue`.
    Break(Option<Box<Expr>>),
    /// Anything the analysis does not model.
    Unknown,
}

/// A match arm.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Arm {
    /// Pattern.
    pub pat: Pat,
    /// `if` guard.
    pub guard: Option<Expr>,
    /// Body.
    pub body: Expr,
}

/// A pattern.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Pat {
    /// `name` or `name @ sub`.
    Bind {
        /// Bound name.
        name: Name,
        /// Span of the name.
        span: Span,
        /// Sub-pattern.
        sub: Option<Box<Pat>>,
    },
    /// `(a, b)`.
    Tuple(Vec<Pat>),
    /// `Path(a, b)`: `Some(x)`, `Ok(x)`, `Wrapper(x)`.
    TupleStruct {
        /// Path.
        path: Vec<Name>,
        /// Elements.
        elems: Vec<Pat>,
    },
    /// `Path { field: pat }`.
    Struct {
        /// Path.
        path: Vec<Name>,
        /// Field patterns.
        fields: Vec<(Name, Pat)>,
    },
    /// `a | b`.
    Or(Vec<Pat>),
    /// `[a, b]`.
    Slice(Vec<Pat>),
    /// `_`, literals, ranges, `..`: binds nothing.
    Ignore,
}
