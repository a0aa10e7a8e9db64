//! The program: every lowered file indexed by crate, module, type and name, `use` resolution,
//! and the call graph (petgraph) used to pick analysis roots.
//!
//! Takes the parsed files; gives [`Program`]. Knows nothing of taint.

use std::collections::BTreeMap;

use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};

use petgraph::graph::{DiGraph, NodeIndex};
use rayon::prelude::*;

use crate::ir::walk::{walk_expr, walk_stmt, Node};
use crate::ir::{ConstIr, Expr, FnIr, Name, Pat, Scope, StructIr, TypeIr};
use crate::parse::ParsedFile;

/// `.await` gets call-graph edges to its crate's `IntoFuture` impls up to this many.
const MAX_AWAIT_EDGES: usize = 8;

/// A module scope: (file index, scope index in the file).
type ScopeRef = (usize, u32);

/// A module of one crate, numbered by the index, so that name tables are keyed without
/// allocating its path on every lookup.
type ModId = u32;

/// A function's global index.
pub type FnId = usize;

/// Where a function lives.
#[derive(Debug, Clone)]
pub struct FnInfo {
    /// File index.
    pub file: usize,
    /// Index in the file's `fns`.
    pub idx: usize,
    /// Crate index.
    pub krate: usize,
    /// Full module path inside the crate.
    pub module: Vec<Name>,
}

/// The indexed program.
#[derive(Debug)]
pub struct Program {
    /// Parsed files in path order.
    pub files: Vec<ParsedFile>,
    /// Every function.
    pub fns: Vec<FnInfo>,
    crate_of_file: Vec<usize>,
    crate_names: HashMap<String, usize>,
    /// Renamed dependencies of each crate: (crate, the name its code uses) → the crate's name.
    crate_aliases: HashMap<(usize, Name), String>,
    ix: Index,
    /// Call graph: one node per function, an edge per resolved call.
    pub calls: DiGraph<FnId, ()>,
}

/// What a path must name to possibly resolve to a program function: most paths in a body are
/// locals (no function has their name) or library items (`Vec::new`: no impl, trait or `use`
/// of the program names `Vec`), and resolving those is wasted work.
#[derive(Debug, Default)]
pub struct Names<'a> {
    fns: HashSet<&'a str>,
    /// Impl types, traits and `use` aliases: what an uppercase qualifier must be.
    qualifiers: HashSet<&'a str>,
    /// The `IntoFuture::into_future` functions of each crate: what an `.await` may run.
    into_futures: HashMap<usize, Vec<FnId>>,
}

impl Names<'_> {
    /// Whether `segs` may resolve to a function of the program (see [`Program::resolve_fn`]).
    #[must_use]
    pub fn may_resolve(&self, segs: &[Name]) -> bool {
        let Some((last, init)) = segs.split_last() else {
            return false;
        };
        if !self.fns.contains(last.as_str()) {
            return false;
        }
        match init.last() {
            Some(q) if q.starts_with(|c: char| c.is_ascii_uppercase()) => {
                // `T::read()` on a type parameter resolves to trait functions by name.
                let generic = q.len() <= 2
                    && q.chars()
                        .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit());
                generic || self.qualifiers.contains(q.as_str())
            }
            _ => true,
        }
    }
}

/// The name tables of a program, built from its files in one pass.
#[derive(Debug, Default)]
struct Index {
    fns: Vec<FnInfo>,
    modules: Modules,
    /// The module of each scope of each file: `scope_modules[file][scope]`.
    scope_modules: Vec<Vec<ModId>>,
    free_fns: HashMap<(ModId, Name), Vec<FnId>>,
    fns_by_name: HashMap<(usize, Name), Vec<FnId>>,
    methods: HashMap<(usize, Name, Name), Vec<FnId>>,
    methods_by_name: HashMap<(usize, Name), Vec<FnId>>,
    /// Methods by (type, name) and by name over every crate of the tree: a value of a type of a
    /// sibling crate of the workspace (or of the package's library, seen from `examples/`).
    methods_any_crate: HashMap<(Name, Name), Vec<FnId>>,
    methods_by_name_any_crate: HashMap<Name, Vec<FnId>>,
    structs: HashMap<(usize, Name), (usize, usize)>,
    structs_any_crate: HashMap<Name, (usize, usize)>,
    consts: HashMap<(ModId, Name), (usize, usize)>,
    consts_by_name: HashMap<(usize, Name), (usize, usize)>,
    traits: HashSet<(usize, Name)>,
    trait_fns: HashMap<(usize, Name), Vec<FnId>>,
    /// Types some `impl` block is for, by crate and over every crate: what a declared type must
    /// name to give a value a program type (structs, enums, aliases with impls).
    impl_types: HashSet<(usize, Name)>,
    impl_types_any_crate: HashSet<Name>,
    /// Type aliases by (crate, impl type for associated types, name): `(file, index)`.
    aliases: HashMap<(usize, Option<Name>, Name), (usize, usize)>,
    aliases_any_crate: HashMap<(Option<Name>, Name), (usize, usize)>,
    /// `impl From<S> for T { fn from(..) }` by the core type `S` of the parameter, over every
    /// crate.
    from_by_source: HashMap<Name, Vec<FnId>>,
}

/// The module tree of every crate: each module with its path, its children and its scopes.
#[derive(Debug, Default)]
struct Modules {
    /// The root module of each crate that has one.
    roots: HashMap<usize, ModId>,
    children: HashMap<(ModId, Name), ModId>,
    /// Path inside its crate, by id.
    paths: Vec<Vec<Name>>,
    /// Scopes that make up the module, by id (none for a module only known as a path prefix).
    scopes: Vec<Vec<ScopeRef>>,
}

impl Modules {
    /// The id of module `path` of crate `krate`, numbering it and its ancestors if new.
    fn intern(&mut self, krate: usize, path: &[Name]) -> ModId {
        let mut id = match self.roots.get(&krate) {
            Some(&id) => id,
            None => {
                let id = self.push(Vec::new());
                self.roots.insert(krate, id);
                id
            }
        };
        for (depth, seg) in path.iter().enumerate() {
            id = match self.children.get(&(id, *seg)) {
                Some(&child) => child,
                None => {
                    let child = self.push(path[..=depth].to_vec());
                    self.children.insert((id, *seg), child);
                    child
                }
            };
        }
        id
    }

    fn push(&mut self, path: Vec<Name>) -> ModId {
        let id = ModId::try_from(self.paths.len()).unwrap_or(ModId::MAX);
        self.paths.push(path);
        self.scopes.push(Vec::new());
        id
    }

    /// The id of module `path` of crate `krate`, if the program has it.
    fn get(&self, krate: usize, path: &[Name]) -> Option<ModId> {
        let mut id = *self.roots.get(&krate)?;
        for seg in path {
            id = *self.children.get(&(id, *seg))?;
        }
        Some(id)
    }

    fn child(&self, id: ModId, name: Name) -> Option<ModId> {
        self.children.get(&(id, name)).copied()
    }

    fn path(&self, id: ModId) -> &[Name] {
        &self.paths[id as usize]
    }

    fn scopes(&self, id: ModId) -> &[ScopeRef] {
        &self.scopes[id as usize]
    }
}

/// A file and scope: the context names are resolved in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Ctx {
    /// File index.
    pub file: usize,
    /// Scope index in the file.
    pub scope: u32,
}

impl Program {
    /// Indexes `files` and builds the call graph.
    #[must_use]
    pub fn build(files: Vec<ParsedFile>) -> Program {
        let mut p = Program::indexed(files);
        p.build_call_graph();
        p
    }

    /// Indexes `files`, without the call graph (see [`Program::build_call_graph`]).
    #[must_use]
    pub fn indexed(files: Vec<ParsedFile>) -> Program {
        let mut p = Program::unindexed(files);
        let ix = p.build_index();
        p.install(ix);
        p
    }

    /// [`Program::indexed`], running `beside` on the files while the (sequential) indexing
    /// runs, so that the other cores have work.
    pub fn indexed_beside<T: Send>(
        files: Vec<ParsedFile>,
        beside: impl FnOnce(&[ParsedFile]) -> T + Send,
    ) -> (Program, T) {
        let mut p = Program::unindexed(files);
        let (ix, out) = rayon::join(|| p.build_index(), || beside(&p.files));
        p.install(ix);
        (p, out)
    }

    fn install(&mut self, mut ix: Index) {
        self.fns = std::mem::take(&mut ix.fns);
        self.ix = ix;
    }

    /// The program of `files` with empty name tables.
    fn unindexed(mut files: Vec<ParsedFile>) -> Program {
        apply_path_attributes(&mut files);
        let mut crate_keys: BTreeMap<String, usize> = BTreeMap::new();
        let mut crate_names = HashMap::default();
        let mut crate_of_file = Vec::new();
        for f in &files {
            let n = crate_keys.len();
            let k = *crate_keys.entry(f.source.crate_key.clone()).or_insert(n);
            crate_of_file.push(k);
        }
        let mut crate_aliases = HashMap::default();
        for (f, &k) in files.iter().zip(&crate_of_file) {
            for (alias, target) in &f.source.crate_aliases {
                crate_aliases
                    .entry((k, Name::from(alias.as_str())))
                    .or_insert_with(|| target.clone());
            }
        }
        // A package's name is its library's: `use keygen_rs::..` in `examples/` or `tests/`
        // (crate roots of their own, keys with a `#`) means `src/`, whichever sorts first.
        for library_first in [true, false] {
            for (f, &k) in files.iter().zip(&crate_of_file) {
                let is_library = !f.source.crate_key.contains('#');
                if let (true, Some(name)) = (is_library == library_first, &f.source.crate_name) {
                    crate_names.entry(name.clone()).or_insert(k);
                }
            }
        }
        Program {
            files,
            fns: Vec::new(),
            crate_of_file,
            crate_names,
            crate_aliases,
            ix: Index::default(),
            calls: DiGraph::new(),
        }
    }

    fn build_index(&self) -> Index {
        let mut ix = Index::default();
        for (fi, file) in self.files.iter().enumerate() {
            let krate = self.crate_of_file[fi];
            let mut scope_modules = Vec::with_capacity(file.ir.scopes.len());
            for (si, scope) in file.ir.scopes.iter().enumerate() {
                let module = ix
                    .modules
                    .intern(krate, &module_of(&file.source.module, scope));
                ix.modules.scopes[module as usize].push((fi, u32::try_from(si).unwrap_or(0)));
                scope_modules.push(module);
            }
            let module_of_scope = |scope: u32| scope_modules[scope as usize];
            for (idx, f) in file.ir.fns.iter().enumerate() {
                let id = ix.fns.len();
                let mid = module_of_scope(f.scope);
                let module = ix.modules.path(mid).to_vec();
                let is_method = f
                    .params
                    .first()
                    .is_some_and(|p| matches!(&p.pat, Pat::Bind { name, .. } if name == "self"));
                if let Some(ty) = &f.self_ty {
                    ix.impl_types.insert((krate, *ty));
                    ix.impl_types_any_crate.insert(*ty);
                    if f.name == "from" && f.trait_name.is_some_and(|t| t == "From") {
                        let source = f.params.first().and_then(|p| p.ty.as_ref());
                        if let Some(src) = source.and_then(|t| core_type(t).path.last()) {
                            ix.from_by_source.entry(*src).or_default().push(id);
                        }
                    }
                    ix.methods.entry((krate, *ty, f.name)).or_default().push(id);
                    ix.methods_any_crate
                        .entry((*ty, f.name))
                        .or_default()
                        .push(id);
                } else if f.trait_name.is_none() {
                    ix.free_fns.entry((mid, f.name)).or_default().push(id);
                    ix.fns_by_name.entry((krate, f.name)).or_default().push(id);
                }
                if let Some(t) = &f.trait_name {
                    ix.traits.insert((krate, *t));
                    ix.trait_fns.entry((krate, f.name)).or_default().push(id);
                }
                if is_method {
                    ix.methods_by_name
                        .entry((krate, f.name))
                        .or_default()
                        .push(id);
                    ix.methods_by_name_any_crate
                        .entry(f.name)
                        .or_default()
                        .push(id);
                }
                ix.fns.push(FnInfo {
                    file: fi,
                    idx,
                    krate,
                    module,
                });
            }
            for (idx, s) in file.ir.structs.iter().enumerate() {
                ix.structs.entry((krate, s.name)).or_insert((fi, idx));
                ix.structs_any_crate.entry(s.name).or_insert((fi, idx));
            }
            for (idx, a) in file.ir.type_aliases.iter().enumerate() {
                ix.aliases
                    .entry((krate, a.self_ty, a.name))
                    .or_insert((fi, idx));
                ix.aliases_any_crate
                    .entry((a.self_ty, a.name))
                    .or_insert((fi, idx));
            }
            for (idx, c) in file.ir.consts.iter().enumerate() {
                ix.consts
                    .entry((module_of_scope(c.scope), c.name))
                    .or_insert((fi, idx));
                ix.consts_by_name
                    .entry((krate, c.name))
                    .or_insert((fi, idx));
            }
            ix.scope_modules.push(scope_modules);
        }
        ix
    }

    /// The IR of function `id`.
    #[must_use]
    pub fn func(&self, id: FnId) -> &FnIr {
        let info = &self.fns[id];
        &self.files[info.file].ir.fns[info.idx]
    }

    /// The resolution context of function `id`.
    #[must_use]
    pub fn ctx_of(&self, id: FnId) -> Ctx {
        Ctx {
            file: self.fns[id].file,
            scope: self.func(id).scope,
        }
    }

    /// The crate of the tree whose library is named `name` (`use keygen_rs::..`).
    #[must_use]
    pub fn crate_named(&self, name: &str) -> Option<usize> {
        self.crate_names.get(name).copied()
    }

    /// The path a rule names program function `id` by: its crate's library name (`crate` when
    /// the crate has none), module, `Self` type and name (`my_sdk::net::Client::send`).
    #[must_use]
    pub fn fn_path(&self, id: FnId) -> Vec<Name> {
        let ctx = self.ctx_of(id);
        let k = self.crate_of(ctx);
        let krate = self
            .crate_names
            .iter()
            .filter(|(_, &c)| c == k)
            .map(|(n, _)| n.as_str())
            .min()
            .unwrap_or("crate");
        let f = self.func(id);
        let mut path = vec![Name::from(krate)];
        path.extend(self.module(ctx).iter().copied());
        path.extend(f.self_ty);
        path.push(f.name);
        path
    }

    /// The crate of a context.
    #[must_use]
    pub fn crate_of(&self, ctx: Ctx) -> usize {
        self.crate_of_file[ctx.file]
    }

    fn scope(&self, ctx: Ctx) -> &Scope {
        &self.files[ctx.file].ir.scopes[ctx.scope as usize]
    }

    fn module_id(&self, ctx: Ctx) -> ModId {
        self.ix.scope_modules[ctx.file][ctx.scope as usize]
    }

    fn module(&self, ctx: Ctx) -> &[Name] {
        self.ix.modules.path(self.module_id(ctx))
    }

    /// Expands a path through `use` items, `crate::`, `self::` and `super::`. Paths into this
    /// crate come back as `["crate", ...]`; others (external crates, std) as written after
    /// expansion.
    #[must_use]
    pub fn expand(&self, ctx: Ctx, segs: &[Name]) -> Vec<Name> {
        self.expand_depth(ctx, segs, 0)
    }

    fn expand_depth(&self, ctx: Ctx, segs: &[Name], depth: usize) -> Vec<Name> {
        let Some(first) = segs.first() else {
            return Vec::new();
        };
        let rest = &segs[1..];
        let mut out: Vec<Name> = match first.as_str() {
            "crate" => std::iter::once(Name::from("crate"))
                .chain(rest.iter().copied())
                .collect(),
            "self" => crate_path(self.module(ctx), rest),
            "super" => {
                let mut module = self.module(ctx);
                let mut rest = rest;
                module = module.split_last().map_or(module, |(_, m)| m);
                while rest.first().is_some_and(|s| s == "super") {
                    module = module.split_last().map_or(module, |(_, m)| m);
                    rest = &rest[1..];
                }
                crate_path(module, rest)
            }
            _ => {
                if let Some(u) = self.scope(ctx).uses.iter().find(|u| &u.alias == first) {
                    if depth < 6 && u.path.first() != Some(first) {
                        let mut p = self.expand_depth(ctx, &u.path, depth + 1);
                        p.extend(rest.iter().cloned());
                        return p;
                    }
                    let mut p = u.path.clone();
                    p.extend(rest.iter().cloned());
                    return p;
                }
                let module = self.module_id(ctx);
                let is_local_module = self
                    .ix
                    .modules
                    .child(module, *first)
                    .is_some_and(|m| !self.ix.modules.scopes(m).is_empty());
                let is_local_item = self.ix.free_fns.contains_key(&(module, *first))
                    || self.ix.consts.contains_key(&(module, *first));
                if is_local_module || is_local_item {
                    crate_path(self.ix.modules.path(module), segs)
                } else {
                    segs.to_vec()
                }
            }
        };
        if out.is_empty() {
            out = segs.to_vec();
        }
        out
    }

    /// Functions a path call may reach, given the context it is written in and the `Self` type.
    #[must_use]
    pub fn resolve_fn(&self, ctx: Ctx, segs: &[Name], self_ty: Option<&str>) -> Vec<FnId> {
        let krate = self.crate_of(ctx);
        if segs.len() == 2 && segs[0] == "Self" {
            if let Some(ty) = self_ty {
                return self
                    .ix
                    .methods
                    .get(&(krate, Name::from(ty), segs[1]))
                    .cloned()
                    .unwrap_or_default();
            }
        }
        // `Self::Request::new(..)`: through the impl's associated type; `Alias::new(..)` through a
        // type alias.
        if segs.len() >= 2 {
            let qualifier = segs[segs.len() - 2];
            let owner = (segs.len() == 3 && segs[0] == "Self")
                .then_some(self_ty)
                .flatten();
            if segs.len() == 2 || owner.is_some() {
                if let Some(target) = self.type_alias(krate, owner, &qualifier) {
                    let target = core_type(target).path.last().copied();
                    if let Some(t) = target.filter(|t| *t != qualifier) {
                        let found = self.methods_of(krate, &t, &segs[segs.len() - 1]);
                        if !found.is_empty() {
                            return found.to_vec();
                        }
                    }
                }
            }
        }
        let full = self.expand(ctx, segs);
        if let Some(found) = self.lookup_fn(&full, krate, 0) {
            return found;
        }
        if segs.len() == 1 {
            return self
                .ix
                .fns_by_name
                .get(&(krate, segs[0]))
                .cloned()
                .unwrap_or_default();
        }
        // `Trait::method(&value)`: conservative dispatch to every method so named.
        let qualifier = &segs[segs.len() - 2];
        if qualifier.chars().next().is_some_and(char::is_uppercase) {
            let is_trait = self.ix.traits.contains(&(krate, *qualifier));
            if is_trait {
                return self.resolve_method(krate, None, &segs[segs.len() - 1]);
            }
            // `R::read()` on a type parameter: every trait impl's function of that name.
            let generic = qualifier.len() <= 2
                && qualifier
                    .chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit());
            if generic {
                let name = &segs[segs.len() - 1];
                return self
                    .ix
                    .trait_fns
                    .get(&(krate, *name))
                    .cloned()
                    .unwrap_or_default();
            }
        }
        Vec::new()
    }

    fn lookup_fn(&self, full: &[Name], home: usize, depth: usize) -> Option<Vec<FnId>> {
        let (krate, inner) = match full.first().map(Name::as_str) {
            Some("crate") => (home, &full[1..]),
            Some(name) => match self.crate_names.get(self.crate_alias(home, name)) {
                Some(&k) => (k, &full[1..]),
                None => (home, full),
            },
            None => return None,
        };
        let (name, module) = inner.split_last()?;
        let mid = self.ix.modules.get(krate, module);
        if let Some(ids) = mid.and_then(|m| self.ix.free_fns.get(&(m, *name))) {
            return Some(ids.clone());
        }
        if let Some(ty) = module.last() {
            if let Some(ids) = self.ix.methods.get(&(krate, *ty, *name)) {
                return Some(ids.clone());
            }
        }
        // A re-export: `pub use ids::advertising_id;` in the module the path names.
        if depth < 4 {
            for &(file, scope) in self.ix.modules.scopes(mid?) {
                let ctx = Ctx { file, scope };
                if self.scope(ctx).uses.iter().any(|u| &u.alias == name) {
                    let again = self.expand(ctx, std::slice::from_ref(name));
                    if again.as_slice() != full {
                        if let Some(found) = self.lookup_fn(&again, krate, depth + 1) {
                            return Some(found);
                        }
                    }
                }
                // `pub use transport::*;`
                for glob in self.scope(ctx).uses.iter().filter(|u| u.alias == "*") {
                    let mut path = glob.path.clone();
                    path.push(*name);
                    let again = self.expand(ctx, &path);
                    if again.as_slice() != full {
                        if let Some(found) = self.lookup_fn(&again, krate, depth + 1) {
                            return Some(found);
                        }
                    }
                }
            }
        }
        None
    }

    /// Methods named `name` on type `ty` (or, with no type, every trait method so named).
    /// The crate's own methods first; a type or trait of another crate of the tree (a sibling
    /// of the workspace, the package's library seen from `examples/`) is found there.
    #[must_use]
    pub fn resolve_method(&self, krate: usize, ty: Option<&str>, name: &str) -> Vec<FnId> {
        let name = Name::from(name);
        if let Some(ty) = ty {
            let ty = Name::from(ty);
            if let Some(ids) = self
                .ix
                .methods
                .get(&(krate, ty, name))
                .or_else(|| self.ix.methods_any_crate.get(&(ty, name)))
            {
                return ids.clone();
            }
            // Trait default methods are reachable from any implementing type.
            return self.methods_so_named(krate, name, |f| f.self_ty.is_none());
        }
        // Without a receiver type only trait methods are candidates (generic and `dyn` calls);
        // an inherent method called on a value of unknown type is most often a library's.
        let mut ids = self.methods_so_named(krate, name, |f| f.trait_name.is_some());
        self.add_impls_in_other_crates(&mut ids, name);
        ids
    }

    /// Adds to `ids` the methods named `name` that other crates of the tree define for the same
    /// traits: a `dyn Transport` call in a core crate reaches the transports that a downstream
    /// crate implements for the core's trait, not only the core's own (a no-op, a test double).
    fn add_impls_in_other_crates(&self, ids: &mut Vec<FnId>, name: Name) {
        let traits: Vec<Name> = ids
            .iter()
            .filter_map(|&f| self.func(f).trait_name)
            .collect();
        let Some(all) = self.ix.methods_by_name_any_crate.get(&name) else {
            return;
        };
        let before = ids.len();
        ids.extend(
            all.iter()
                .copied()
                .filter(|&f| self.func(f).trait_name.is_some_and(|t| traits.contains(&t))),
        );
        if ids.len() > before {
            ids.sort_unstable();
            ids.dedup();
        }
    }

    /// Whether the tree defines a method named `name` (inherent or trait, of any type) that a
    /// call in crate `krate` could reach.
    #[must_use]
    pub fn defines_method(&self, krate: usize, name: &str) -> bool {
        !self
            .methods_so_named(krate, Name::from(name), |_| true)
            .is_empty()
    }

    /// Methods named `name` of exactly type `ty` (no trait defaults): the crate's own, else those
    /// of another crate of the tree.
    #[must_use]
    pub fn methods_of(&self, krate: usize, ty: &str, name: &str) -> &[FnId] {
        let (ty, name) = (Name::from(ty), Name::from(name));
        self.ix
            .methods
            .get(&(krate, ty, name))
            .or_else(|| self.ix.methods_any_crate.get(&(ty, name)))
            .map_or(&[], Vec::as_slice)
    }

    /// The type alias `name` (of impl type `owner` for an associated type), in crate `krate` or
    /// else in another crate of the tree.
    #[must_use]
    pub fn type_alias(&self, krate: usize, owner: Option<&str>, name: &str) -> Option<&TypeIr> {
        let (owner, name) = (owner.map(Name::from), Name::from(name));
        let &(f, i) = self
            .ix
            .aliases
            .get(&(krate, owner, name))
            .or_else(|| self.ix.aliases_any_crate.get(&(owner, name)))?;
        Some(&self.files[f].ir.type_aliases[i].ty)
    }

    /// Whether `name` is a type of the program: a struct, or a type with an `impl` block.
    #[must_use]
    pub fn is_program_type(&self, krate: usize, name: &str) -> bool {
        let n = Name::from(name);
        self.ix.impl_types.contains(&(krate, n))
            || self.ix.impl_types_any_crate.contains(&n)
            || self.struct_def(krate, name).is_some()
    }

    /// The program's `From::from` functions converting a value of core type `source` (when
    /// known) into `target` (when known); empty when both are unknown.
    #[must_use]
    pub fn from_impls(
        &self,
        krate: usize,
        source: Option<&str>,
        target: Option<&str>,
    ) -> Vec<FnId> {
        let is_from = |&f: &FnId| self.func(f).trait_name.is_some_and(|t| t == "From");
        match (source, target) {
            (Some(s), t) => self
                .ix
                .from_by_source
                .get(&Name::from(s))
                .map(|ids| {
                    ids.iter()
                        .copied()
                        .filter(|&f| t.is_none_or(|t| self.func(f).self_ty.is_some_and(|s| s == t)))
                        .collect()
                })
                .unwrap_or_default(),
            (None, Some(t)) => self
                .methods_of(krate, t, "from")
                .iter()
                .copied()
                .filter(is_from)
                .collect(),
            (None, None) => Vec::new(),
        }
    }

    /// Methods named `name` that `keep` accepts: the crate's own, or, when it has none, those
    /// of every crate of the tree.
    fn methods_so_named(
        &self,
        krate: usize,
        name: Name,
        keep: impl Fn(&FnIr) -> bool,
    ) -> Vec<FnId> {
        let pick = |ids: Option<&Vec<FnId>>| -> Vec<FnId> {
            ids.map(|ids| {
                ids.iter()
                    .copied()
                    .filter(|&i| keep(self.func(i)))
                    .collect()
            })
            .unwrap_or_default()
        };
        let own = pick(self.ix.methods_by_name.get(&(krate, name)));
        if !own.is_empty() {
            return own;
        }
        pick(self.ix.methods_by_name_any_crate.get(&name))
    }

    /// The struct named `name` in crate `krate`, or else in another crate of the tree.
    #[must_use]
    pub fn struct_def(&self, krate: usize, name: &str) -> Option<&StructIr> {
        let name = Name::from(name);
        let &(f, i) = self
            .ix
            .structs
            .get(&(krate, name))
            .or_else(|| self.ix.structs_any_crate.get(&name))?;
        Some(&self.files[f].ir.structs[i])
    }

    /// The const a path names, with the context its initializer is evaluated in.
    #[must_use]
    pub fn resolve_const(&self, ctx: Ctx, segs: &[Name]) -> Option<(Ctx, &ConstIr)> {
        let krate = self.crate_of(ctx);
        let full = self.expand(ctx, segs);
        let inner = if full.first().is_some_and(|s| s == "crate") {
            &full[1..]
        } else {
            &full[..]
        };
        let (name, module) = inner.split_last()?;
        // Else an unqualified const from an enclosing module or a glob import: the first so named.
        let &(f, i) = self
            .ix
            .modules
            .get(krate, module)
            .and_then(|m| self.ix.consts.get(&(m, *name)))
            .or_else(|| self.ix.consts_by_name.get(&(krate, *name)))?;
        let c = &self.files[f].ir.consts[i];
        Some((
            Ctx {
                file: f,
                scope: c.scope,
            },
            c,
        ))
    }

    /// Builds the call graph of an [`Program::indexed`] program.
    pub fn build_call_graph(&mut self) {
        let nodes: Vec<NodeIndex> = (0..self.fns.len())
            .map(|i| self.calls.add_node(i))
            .collect();
        let names = self.names();
        let edges: Vec<(FnId, FnId)> = (0..self.fns.len())
            .into_par_iter()
            .flat_map_iter(|id| {
                self.callees(id, &names)
                    .into_iter()
                    .filter(move |&c| c != id)
                    .map(move |c| (id, c))
            })
            .collect();
        for (a, b) in edges {
            self.calls.add_edge(nodes[a], nodes[b], ());
        }
    }

    /// The names a call can resolve through, for [`Program::callees`].
    #[must_use]
    pub fn names(&self) -> Names<'_> {
        let mut names = Names::default();
        for file in &self.files {
            for f in &file.ir.fns {
                names.fns.insert(&f.name);
                names.qualifiers.extend(f.self_ty.as_deref());
                names.qualifiers.extend(f.trait_name.as_deref());
            }
            for scope in &file.ir.scopes {
                names
                    .qualifiers
                    .extend(scope.uses.iter().map(|u| u.alias.as_str()));
            }
        }
        names.qualifiers.insert("Self");
        for i in 0..self.fns.len() {
            let f = self.func(i);
            if f.name == "into_future" && f.trait_name.is_some_and(|t| t == "IntoFuture") {
                let krate = self.fns[i].krate;
                names.into_futures.entry(krate).or_default().push(i);
            }
        }
        names
    }

    /// The functions `id` may call, sorted: resolved paths and calls, and trait methods by name
    /// (the call graph's edges out of `id`).
    #[must_use]
    pub fn callees(&self, id: FnId, names: &Names<'_>) -> Vec<FnId> {
        let ctx = self.ctx_of(id);
        let krate = self.crate_of(ctx);
        let f = self.func(id);
        let mut callees = Vec::new();
        // A call's function path is visited as a path of its own.
        let mut visit = |n: Node<'_>| match n {
            Node::Expr(Expr::Path { segs, .. }) if names.may_resolve(segs) => {
                callees.extend(self.resolve_fn(ctx, segs, f.self_ty.as_deref()));
            }
            Node::Expr(Expr::Method { recv, name, .. }) if names.fns.contains(name.as_str()) => {
                // `self.login()`: the method of the impl's own type (inherent or trait).
                let own_type = match &**recv {
                    Expr::Path { segs, .. } if segs.len() == 1 && segs[0] == "self" => {
                        f.self_ty.as_deref()
                    }
                    _ => None,
                };
                if own_type.is_some() {
                    callees.extend(self.resolve_method(krate, own_type, name));
                }
                callees.extend(self.resolve_method(krate, None, name));
            }
            // `.await` on a value of a program type runs its `IntoFuture` impl: an edge to those
            // of the crate, when they are few enough to name (a crate with more has its typed
            // awaits dispatched by the engine all the same; only relevance sees fewer edges).
            Node::Expr(Expr::Await { .. }) => {
                if let Some(own) = names.into_futures.get(&krate) {
                    if own.len() <= MAX_AWAIT_EDGES {
                        callees.extend(own);
                    }
                }
            }
            _ => {}
        };
        for s in &f.body.stmts {
            walk_stmt(s, &mut visit);
        }
        for c in &f.closures {
            walk_expr(&c.body, &mut visit);
        }
        callees.sort_unstable();
        callees.dedup();
        callees
    }

    /// The crate name a path's first segment means in crate `home` (a renamed dependency's
    /// real name, else the segment itself).
    fn crate_alias<'a>(&'a self, home: usize, name: &'a str) -> &'a str {
        if self.crate_aliases.is_empty() {
            return name;
        }
        self.crate_aliases
            .get(&(home, Name::from(name)))
            .map_or(name, String::as_str)
    }

    /// Whether the program itself calls `fid` (it has an incoming call-graph edge).
    #[must_use]
    pub fn has_callers(&self, fid: FnId) -> bool {
        // Nodes are added in function order (`build_call_graph`): node `fid` is function `fid`.
        let n = NodeIndex::new(fid);
        fid < self.calls.node_count()
            && self
                .calls
                .neighbors_directed(n, petgraph::Direction::Incoming)
                .next()
                .is_some()
    }

    /// The analysis roots, in program order: functions nobody calls (entry points, dead code),
    /// and, called or not, the entry points others call from outside the program: `main`,
    /// `extern` and `#[no_mangle]` exports, functions exported to other languages, and the
    /// public functions and inherent methods of a library crate (one with a `lib.rs`), which
    /// its users may call with anything and without the crate's own checks around them.
    #[must_use]
    pub fn roots(&self) -> Vec<FnId> {
        let libraries: HashSet<usize> = (self.files.iter().enumerate())
            .filter(|(_, f)| f.source.rel == "src/lib.rs" || f.source.rel.ends_with("/src/lib.rs"))
            .map(|(i, _)| self.crate_of_file[i])
            .collect();
        self.calls
            .node_indices()
            .filter(|&n| {
                let fid = self.calls[n];
                let f = self.func(fid);
                let uncalled = self
                    .calls
                    .neighbors_directed(n, petgraph::Direction::Incoming)
                    .next()
                    .is_none();
                uncalled || f.entry || (f.public && libraries.contains(&self.fns[fid].krate))
            })
            .map(|n| self.calls[n])
            .collect()
    }
}

/// Wrapper types looked through for the type a value has: references, smart pointers, locks,
/// `Option`/`Result` and collections (`&Option<Arc<Client>>` → `Client`).
const WRAPPER_TYPES: &[&str] = &[
    "Option",
    "Result",
    "Box",
    "Arc",
    "Rc",
    "Mutex",
    "RwLock",
    "RefCell",
    "Cell",
    "Pin",
    "Cow",
    "Vec",
    "VecDeque",
    "MutexGuard",
    "RwLockReadGuard",
    "RwLockWriteGuard",
    "Weak",
    "ManuallyDrop",
    "io",
    "Self_",
];

/// The type inside references and wrappers (`&Option<Arc<Client>>` → `Client`).
#[must_use]
pub fn core_type(ty: &TypeIr) -> &TypeIr {
    let mut t = ty;
    for _ in 0..8 {
        let wrapper = t.path.is_empty()
            || t.path
                .last()
                .is_some_and(|l| WRAPPER_TYPES.contains(&l.as_str()));
        match t.args.first() {
            Some(inner) if wrapper => t = inner,
            _ => break,
        }
    }
    t
}

/// `#[path = "x.rs"] mod name;` puts `x.rs` at `parent::name` in the declaring file's crate,
/// wherever the file sits on disk.
fn apply_path_attributes(files: &mut [ParsedFile]) {
    let by_rel: HashMap<String, usize> = files
        .iter()
        .enumerate()
        .map(|(i, f)| (f.source.rel.clone(), i))
        .collect();
    let mut updates = Vec::new();
    for f in files.iter() {
        let dir: Vec<&str> = f
            .source
            .rel
            .rsplit_once('/')
            .map_or_else(Vec::new, |(d, _)| d.split('/').collect());
        for decl in &f.ir.mod_decls {
            let Some(attr) = &decl.path_attr else {
                continue;
            };
            let mut target: Vec<&str> = dir.clone();
            for part in attr.split(['/', '\\']) {
                match part {
                    "" | "." => {}
                    ".." => {
                        target.pop();
                    }
                    other => target.push(other),
                }
            }
            if let Some(&t) = by_rel.get(&target.join("/")) {
                let mut module = module_of(&f.source.module, &f.ir.scopes[decl.scope as usize]);
                module.push(decl.name);
                updates.push((
                    t,
                    module,
                    f.source.crate_key.clone(),
                    f.source.crate_name.clone(),
                ));
            }
        }
    }
    for (t, module, key, name) in updates {
        files[t].source.module = module;
        files[t].source.crate_key = key;
        files[t].source.crate_name = name;
    }
}

fn module_of(file_module: &[Name], scope: &Scope) -> Vec<Name> {
    let mut m = file_module.to_vec();
    m.extend(scope.inline_path.iter().cloned());
    m
}

fn crate_path(module: &[Name], rest: &[Name]) -> Vec<Name> {
    std::iter::once(Name::from("crate"))
        .chain(module.iter().copied())
        .chain(rest.iter().copied())
        .collect()
}
