// build_decls.cpp: the AstBuilder's walk over declarations: the program
// header, consts, inputs, outputs, vars, lets, types, fns, rounds (with their
// sends, handlers and progress clauses) and specifications, plus the source
// ranges, literals and type syntax they are made of.
#include <charconv>

#include "parse/builder.h"

namespace psync::parse {

// ---------------------------------------------------------- the program

std::unique_ptr<Program> AstBuilder::build(P::FileContext* ctx) {
  auto prog = std::make_unique<Program>();
  if (auto* h = ctx->header()) {
    if (auto* ph = as<P::ProtocolHeaderContext>(h)) {
      prog->name = id_text(ph->ID());
      prog->name_range = range(ph->ID());
    } else if (auto* mh = as<P::ModuleHeaderContext>(h)) {
      prog->is_module = true;
      prog->name = id_text(mh->ID());
      prog->name_range = range(mh->ID());
    }
  }
  for (auto* d : ctx->decl()) build_decl(d, *prog);
  return prog;
}

// ---------------------------------------------------------- locations

SourceRange AstBuilder::range(antlr4::Token* start, antlr4::Token* stop) const {
  if (!start) return {file_, 0, 0};
  if (start->getStartIndex() == static_cast<size_t>(-1)) {
    // "<missing ID>" from error recovery: no index, only a line and column.
    uint32_t b = map_.byte_at(start->getLine(), start->getCharPositionInLine());
    return {file_, b, b};
  }
  uint32_t b = map_.byte(start->getStartIndex());
  uint32_t e = b;
  if (stop && stop->getStopIndex() != static_cast<size_t>(-1) && stop->getStopIndex() + 1 > start->getStartIndex())
    e = map_.byte(stop->getStopIndex() + 1);
  if (start->getType() == antlr4::Token::EOF) e = b;
  return {file_, b, e};
}

SourceRange AstBuilder::range(antlr4::ParserRuleContext* ctx) const {
  if (!ctx) return {file_, 0, 0};
  return range(ctx->getStart(), ctx->getStop());
}

SourceRange AstBuilder::range(antlr4::tree::TerminalNode* node) const {
  if (!node) return {file_, 0, 0};
  return range(node->getSymbol(), node->getSymbol());
}

bool AstBuilder::present(antlr4::tree::TerminalNode* node) {
  // ANTLR's recovery conjures tokens like "<missing ID>" with no position.
  return node && node->getSymbol() && node->getSymbol()->getStartIndex() != static_cast<size_t>(-1) &&
         node->getSymbol()->getTokenIndex() != static_cast<size_t>(-1);
}

std::string AstBuilder::id_text(antlr4::tree::TerminalNode* node) {
  return present(node) ? node->getText() : std::string("<error>");
}

// ---------------------------------------------------------- literals

std::optional<int64_t> AstBuilder::parse_int(antlr4::tree::TerminalNode* node) {
  if (!present(node)) return std::nullopt;
  std::string text = node->getText();
  int64_t v = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || ptr != text.data() + text.size()) {
    diags_.error("integer-overflow", range(node),
                 "integer literal " + quote_token_text(text) + " does not fit in 64 bits (maximum 9223372036854775807)");
    return std::nullopt;
  }
  return v;
}

std::optional<int64_t> AstBuilder::parse_duration_us(antlr4::tree::TerminalNode* node) {
  if (!present(node)) return std::nullopt;
  std::string text = node->getText();
  size_t digits = text.find_first_not_of("0123456789");
  std::string unit = text.substr(digits);
  int64_t v = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + digits, v);
  int64_t scale = unit == "us" ? 1 : unit == "ms" ? 1000 : 1000000;
  if (ec != std::errc() || v > INT64_MAX / scale) {
    diags_.error("duration-overflow", range(node), "duration " + quote_token_text(text) + " is too large");
    return std::nullopt;
  }
  (void)ptr;
  return v * scale;
}

// A string literal's bytes: the quotes dropped, escapes decoded (\" \\ \n
// \t \r \0 \xHH); any other escape is `bad-escape`.
std::optional<std::string> AstBuilder::decode_string(antlr4::tree::TerminalNode* node) {
  if (!present(node)) return std::nullopt;
  const std::string text = node->getText();
  std::string out;
  bool ok = true;
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  for (size_t i = 1; i + 1 < text.size(); ++i) {
    if (text[i] != '\\') {
      out += text[i];
      continue;
    }
    const char c = text[++i];
    switch (c) {
      case '"': out += '"'; break;
      case '\\': out += '\\'; break;
      case 'n': out += '\n'; break;
      case 't': out += '\t'; break;
      case 'r': out += '\r'; break;
      case '0': out += '\0'; break;
      case 'x':
        if (i + 2 < text.size() && hex(text[i + 1]) >= 0 && hex(text[i + 2]) >= 0) {
          out += static_cast<char>(hex(text[i + 1]) * 16 + hex(text[i + 2]));
          i += 2;
          break;
        }
        [[fallthrough]];
      default: {
        SourceRange r = range(node);
        r.begin += static_cast<uint32_t>(i - 1);
        r.end = r.begin + 2;
        diags_.error("bad-escape", r,
                     "unknown escape " + quote_token_text(text.substr(i - 1, 2)) +
                         " in a string (use \\\" \\\\ \\n \\t \\r \\0 or \\xHH)");
        ok = false;
      }
    }
  }
  if (!ok) return std::nullopt;
  return out;
}

// ---------------------------------------------------------- types

TypeExprPtr AstBuilder::build_type(P::TypeContext* ctx, int depth) {
  auto t = std::make_unique<TypeExpr>();
  t->range = range(ctx);
  if (!ctx || depth > limits_.max_expr_depth) {
    t->kind = TypeExprKind::Named;
    t->name = "<error>";
    return t;
  }
  if (auto* c = as<P::OptionTypeContext>(ctx)) {
    t->kind = TypeExprKind::Option;
    t->elems.push_back(build_type(c->base, depth + 1));
  } else if (as<P::IntTypeContext>(ctx)) {
    t->kind = TypeExprKind::Int;
  } else if (as<P::BoolTypeContext>(ctx)) {
    t->kind = TypeExprKind::Bool;
  } else if (as<P::PidTypeContext>(ctx)) {
    t->kind = TypeExprKind::Pid;
  } else if (auto* st = as<P::SetTypeContext>(ctx)) {
    P::SetElemContext* el = st->setElem();
    if (auto* c = as<P::EnumSetElemContext>(el)) {
      t->kind = TypeExprKind::EnumSet;
      t->name = id_text(c->ID());
    } else if (auto* c = as<P::RangeSetElemContext>(el)) {
      t->kind = TypeExprKind::RangeSet;
      auto bound = [&](P::RangeBoundContext* b) -> std::optional<int64_t> {
        if (!b) return std::nullopt;
        auto v = parse_int(b->INT());
        if (!v) return std::nullopt;
        return b->children.size() > 1 ? -*v : *v;
      };
      auto lo = bound(c->lo), hi = bound(c->hi);
      if (!lo || !hi) {
        t->kind = TypeExprKind::Named;
        t->name = "<error>";
      } else {
        t->lo = *lo;
        t->hi = *hi;
      }
    } else {
      t->kind = TypeExprKind::PidSet;
    }
  } else if (auto* c = as<P::TupleTypeContext>(ctx)) {
    t->kind = TypeExprKind::Tuple;
    for (auto* e : c->type()) t->elems.push_back(build_type(e, depth + 1));
  } else if (as<P::UnitTypeContext>(ctx)) {
    t->kind = TypeExprKind::Unit;
  } else if (auto* c = as<P::ArrayTypeContext>(ctx)) {
    t->kind = TypeExprKind::Array;
    t->elems.push_back(build_type(c->type(), depth + 1));
    t->name = id_text(c->ID());
    if (t->name != "n" && present(c->ID()))
      diags_.error("array-size-not-n", range(c->ID()),
                   "array size must be 'n' (arrays are indexed by process id), found '" + t->name + "'");
  } else if (auto* c = as<P::SizedTypeContext>(ctx)) {
    // NAME<K>: bytes<K> is the only sized type; sema reports any other name.
    t->kind = TypeExprKind::Bytes;
    t->name = id_text(c->ID());
    t->size = parse_int(c->INT()).value_or(-1);
  } else if (auto* c = as<P::RecordTypeContext>(ctx)) {
    t->kind = TypeExprKind::Record;
    for (auto* f : c->fieldType()) {
      t->field_names.push_back(id_text(f->ID()));
      t->elems.push_back(build_type(f->type(), depth + 1));
    }
  } else if (auto* c = as<P::NamedTypeContext>(ctx)) {
    t->kind = TypeExprKind::Named;
    t->name = id_text(c->ID());
  } else {
    t->kind = TypeExprKind::Named;
    t->name = "<error>";
  }
  return t;
}

// ---------------------------------------------------------- declarations

VarDeclPtr AstBuilder::make_var(VarKind kind, antlr4::tree::TerminalNode* id) {
  auto v = std::make_unique<VarDecl>();
  v->kind = kind;
  v->name = id_text(id);
  v->range = range(id);
  return v;
}

VarDeclPtr AstBuilder::top_var(VarKind kind, antlr4::tree::TerminalNode* id, P::TypeContext* type, P::ExprContext* init) {
  auto v = make_var(kind, id);
  if (type) v->type_expr = build_type(type);
  if (init) v->init = build_expr(init);
  v->mutable_ = kind == VarKind::Var || kind == VarKind::RoundVar;
  return v;
}

void AstBuilder::build_decl(P::DeclContext* ctx, Program& prog) {
  size_t vars_before = prog.consts.size() + prog.inputs.size() + prog.outputs.size() + prog.vars.size() + prog.lets.size();
  size_t fns_before = prog.fns.size(), rounds_before = prog.rounds.size(), specs_before = prog.specs.size();
  build_decl_inner(ctx, prog);
  if (!poisoned(ctx)) return;
  size_t vars_after = prog.consts.size() + prog.inputs.size() + prog.outputs.size() + prog.vars.size() + prog.lets.size();
  if (vars_after > vars_before) {
    for (auto* list : {&prog.consts, &prog.inputs, &prog.outputs, &prog.vars, &prog.lets})
      if (!list->empty() && list->back()->range.begin >= range(ctx).begin) list->back()->poisoned = true;
  }
  if (prog.fns.size() > fns_before) prog.fns.back()->poisoned = true;
  if (prog.rounds.size() > rounds_before) prog.rounds.back().poisoned = true;
  if (prog.specs.size() > specs_before) prog.specs.back().poisoned = true;
}

void AstBuilder::build_decl_inner(P::DeclContext* ctx, Program& prog) {
  if (auto* c = as<P::ImportDeclContext>(ctx)) {
    prog.imports.push_back({id_text(c->ID()), range(ctx)});
  } else if (auto* c = as<P::ConstDeclContext>(ctx)) {
    prog.consts.push_back(top_var(VarKind::Const, c->ID(), c->type(), c->expr()));
  } else if (auto* c = as<P::InputDeclContext>(ctx)) {
    prog.inputs.push_back(top_var(VarKind::Input, c->ID(), c->type(), nullptr));
  } else if (auto* c = as<P::OutputDeclContext>(ctx)) {
    prog.outputs.push_back(top_var(VarKind::Output, c->ID(), c->type(), nullptr));
  } else if (auto* c = as<P::OutputVarDeclContext>(ctx)) {
    prog.vars.push_back(top_var(VarKind::Var, c->ID(), c->type(), c->expr()));
    prog.vars.back()->output = true;
  } else if (auto* c = as<P::VarDeclContext>(ctx)) {
    prog.vars.push_back(top_var(VarKind::Var, c->ID(), c->type(), c->expr()));
    prog.vars.back()->model = c->MODEL() != nullptr;
  } else if (auto* c = as<P::LetDeclContext>(ctx)) {
    prog.lets.push_back(top_var(VarKind::Let, c->ID(), c->type(), c->expr()));
    prog.lets.back()->model = c->MODEL() != nullptr;
  } else if (auto* c = as<P::TypeDeclContext>(ctx)) {
    prog.types.push_back({id_text(c->ID()), range(c->ID()), build_type(c->type()), nullptr});
  } else if (auto* c = as<P::EnumDeclContext>(ctx)) {
    EnumDecl en;
    auto ids = c->ID();
    en.name = id_text(ids.empty() ? nullptr : ids[0]);
    en.range = range(ids.empty() ? nullptr : ids[0]);
    for (size_t i = 1; i < ids.size(); ++i) {
      auto v = make_var(VarKind::Variant, ids[i]);
      v->index = static_cast<int>(i - 1);
      en.variants.push_back(std::move(v));
    }
    prog.enums.push_back(std::move(en));
  } else if (auto* c = as<P::FnDeclContext>(ctx)) {
    auto fn = std::make_unique<FnDecl>();
    fn->name = id_text(c->ID());
    fn->range = range(ctx);
    fn->name_range = range(c->ID());
    if (c->params())
      for (auto* p : c->params()->param()) {
        auto v = make_var(VarKind::Param, p->ID());
        v->type_expr = build_type(p->type());
        fn->params.push_back(std::move(v));
      }
    fn->result_type_expr = build_type(c->type());
    if (c->block()) {
      fn->has_block = true;
      fn->block = build_block(c->block(), 0);
    } else {
      fn->body = build_expr(c->expr());
    }
    prog.fns.push_back(std::move(fn));
  } else if (auto* c = as<P::RoundDeclContext>(ctx)) {
    prog.rounds.push_back(build_round(c, static_cast<int>(prog.rounds.size())));
  } else if (auto* c = as<P::InvariantDeclContext>(ctx)) {
    prog.specs.push_back(spec(SpecKind::Invariant, c->ID(), ctx, nullptr, c->expr()));
  } else if (auto* c = as<P::PropertyDeclContext>(ctx)) {
    prog.specs.push_back(spec(SpecKind::Property, c->ID(), ctx, nullptr, c->expr()));
  } else if (auto* c = as<P::AssumeDeclContext>(ctx)) {
    prog.specs.push_back(spec(SpecKind::Assume, c->ID(), ctx, nullptr, c->expr()));
  } else if (auto* c = as<P::ByzantineDeclContext>(ctx)) {
    prog.byzantine.push_back({build_expr(c->expr()), range(ctx)});
  } else if (auto* c = as<P::LivenessDeclContext>(ctx)) {
    Spec s = spec(SpecKind::Liveness, c->ID(), ctx, c->expr(0), c->expr(1));
    s.after_rounds = parse_int(c->INT()).value_or(0);
    if (present(c->INT()) && s.after_rounds <= 0)
      diags_.error("bad-liveness-bound", range(c->INT()), "liveness needs at least 1 round after which the goal holds");
    prog.specs.push_back(std::move(s));
  }
}

Spec AstBuilder::spec(SpecKind kind, antlr4::tree::TerminalNode* id, antlr4::ParserRuleContext* ctx, P::ExprContext* pred,
          P::ExprContext* body) {
  Spec s;
  s.kind = kind;
  s.name = id_text(id);
  s.range = range(ctx);
  s.name_range = range(id);
  if (pred) s.pred = build_expr(pred);
  s.body = build_expr(body);
  return s;
}

// ---------------------------------------------------------- rounds

Round AstBuilder::build_round(P::RoundDeclContext* c, int index) {
  Round rd;
  rd.name = id_text(c->ID());
  rd.range = range(c);
  rd.name_range = range(c->ID());
  rd.index = index;
  for (auto* item : c->roundItem()) {
    SourceRange r = range(item);
    if (auto* v = as<P::RoundVarContext>(item)) {
      rd.vars.push_back(top_var(VarKind::RoundVar, v->ID(), v->type(), v->expr()));
    } else if (auto* s = as<P::SendItemContext>(item)) {
      rd.sends.push_back(build_send(s->send(), -1));
    } else if (auto* l = as<P::SendLoopItemContext>(item)) {
      SendLoop loop;
      loop.range = r;
      loop.var = make_var(VarKind::LoopVar, l->ID());
      loop.coll = build_expr(l->expr(0));
      if (l->DOTDOT()) loop.end = build_expr(l->expr(1));
      int index = static_cast<int>(rd.send_loops.size());
      rd.send_loops.push_back(std::move(loop));
      for (auto* s : l->send()) rd.sends.push_back(build_send(s, index));
    } else if (auto* u = as<P::UpdateItemContext>(item)) {
      if (rd.update) duplicate_item("update", r);
      Handler h{r, {}, build_block(u->block(), 0)};
      h.params.push_back(make_var(VarKind::Mailbox, u->ID()));
      rd.update = std::move(h);
    } else if (auto* rc = as<P::ReceiveItemContext>(item)) {
      if (rd.receive) duplicate_item("receive", r);
      Handler h{r, {}, build_block(rc->block(), 0)};
      h.params.push_back(make_var(VarKind::Sender, rc->ID(0)));
      h.params.push_back(make_var(VarKind::Message, rc->ID(1)));
      rd.receive = std::move(h);
    } else if (auto* f = as<P::FinishItemContext>(item)) {
      if (rd.finish) duplicate_item("finish", r);
      Handler h{r, {}, build_block(f->block(), 0)};
      h.params.push_back(make_var(VarKind::TimedOut, f->ID()));
      rd.finish = std::move(h);
    } else if (auto* p = as<P::ProgressItemContext>(item)) {
      if (rd.progress.range.valid()) duplicate_item("progress", r);
      rd.progress.range = r;
      for (auto* clause : p->progressClause()) build_progress(clause, rd.progress);
    }
  }
  return rd;
}

Send AstBuilder::build_send(P::SendContext* s, int loop) {
  Send send;
  send.range = range(s);
  send.loop = loop;
  if (!s) return send;
  send.value = build_expr(s->expr(0));
  if (auto* de = as<P::DestExprContext>(s->dest())) {
    send.dest = DestKind::Expr;
    send.dest_expr = build_expr(de->expr());
  }
  if (s->IF()) send.guard = build_condition(s->cond, s->eq, s->rhs, 0);
  return send;
}

void AstBuilder::duplicate_item(const char* what, SourceRange r) {
  diags_.error("duplicate-round-item", r, std::string("a round has at most one '") + what + "'");
}

void AstBuilder::build_progress(P::ProgressClauseContext* ctx, Progress& pr) {
  if (auto* c = as<P::TimeoutClauseContext>(ctx)) {
    // A duration literal is the static timeout of abi.h; anything else is
    // computed when the round starts (psync_round_desc.timeout).
    pr.timeout = build_expr(c->expr());
    pr.timeout_us.reset();  // a clause given twice keeps the last value
    if (pr.timeout->kind == ExprKind::IntLit && pr.timeout->duration) {
      pr.timeout_us = pr.timeout->int_value;
      pr.timeout.reset();
    } else if (pr.timeout->kind == ExprKind::Error) {
      pr.timeout.reset();
    }
  } else if (auto* c = as<P::GoWhenClauseContext>(ctx)) {
    pr.go_when = build_condition(c->cond, c->eq, c->rhs, 0);
  } else if (as<P::WaitClauseContext>(ctx)) {
    pr.wait = true;
  } else if (auto* c = as<P::StrictClauseContext>(ctx)) {
    pr.strict = true;
    if (c->INT()) pr.strict_bound = parse_int(c->INT());
  } else if (auto* c = as<P::SyncClauseContext>(ctx)) {
    pr.sync = parse_int(c->INT());
  }
}

// A declaration is poisoned when a syntax error lies inside it or right
// after it (where a missing token was expected): sema then declares it
// but does not check it, so one typo does not cascade.
bool AstBuilder::poisoned(antlr4::ParserRuleContext* ctx) const {
  SourceRange r = range(ctx);
  if (ctx && ctx->exception) return true;
  for (uint32_t off : error_offsets_)
    if (off > r.begin && off <= r.end + 1) return true;
  return false;
}

}  // namespace psync::parse
