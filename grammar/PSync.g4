// PSync.g4: the concrete syntax of the psync language (docs/language.md).
// ANTLR 4.7 generates the C++ lexer and parser; compiler/parse turns the
// parse tree into the AST of compiler/ast/ast.h. Keep rule and label names
// stable: the AST builder refers to the generated context classes.
grammar PSync;

// ---------------------------------------------------------------- files
file
    : header decl* EOF
    ;

header
    : PROTOCOL ID       # protocolHeader
    | MODULE ID         # moduleHeader
    ;

decl
    : IMPORT ID                                              # importDecl
    | CONST ID ':' type '=' expr                             # constDecl
    | INPUT ID ':' type                                      # inputDecl
    | OUTPUT ID ':' type                                     # outputDecl
    | OUTPUT VAR ID ':' type '=' expr                        # outputVarDecl
    | MODEL? VAR ID ':' type '=' expr                        # varDecl
    | MODEL? LET ID ':' type '=' expr                        # letDecl
    | TYPE ID '=' type                                       # typeDecl
    | ENUM ID '{' ID (',' ID)* ','? '}'                      # enumDecl
    | FN ID '(' params? ')' ':' type ('=' expr | block)      # fnDecl
    | ROUND ID '{' roundItem* '}'                            # roundDecl
    | INVARIANT ID ':' expr                                  # invariantDecl
    | PROPERTY ID ':' expr                                   # propertyDecl
    | LIVENESS ID ':' AFTER INT (ROUNDS | ROUND) WHERE expr ':' expr   # livenessDecl
    | ASSUME ID ':' expr                                     # assumeDecl
    | BYZANTINE expr                                         # byzantineDecl
    ;

params
    : param (',' param)*
    ;

param
    : ID ':' type
    ;

// ---------------------------------------------------------------- rounds
roundItem
    : VAR ID ':' type '=' expr                        # roundVar
    | send                                            # sendItem
    | FOR ID IN expr (DOTDOT expr)? '{' send* '}'     # sendLoopItem
    | UPDATE '(' ID ')' block                         # updateItem
    | RECEIVE '(' ID ',' ID ')' block                 # receiveItem
    | FINISH '(' ID ')' block                         # finishItem
    | PROGRESS progressClause (',' progressClause)*   # progressItem
    ;

// `if a = b` parses (eq) so that the builder can say "did you mean '=='?"
// without poisoning the round.
send
    : SEND expr TO dest (IF cond=expr (eq='=' rhs=expr)?)?
    ;

dest
    : ALL       # destAll
    | expr      # destExpr
    ;

progressClause
    : TIMEOUT expr                            # timeoutClause
    | GO WHEN cond=expr (eq='=' rhs=expr)?    # goWhenClause
    | WAIT                  # waitClause
    | STRICT INT?           # strictClause
    | SYNC INT              # syncClause
    ;

// ---------------------------------------------------------------- statements
block
    : '{' stmt* '}'
    ;

stmt
    : VAR ID (':' type)? '=' expr                        # localVarStmt
    | LET ID (':' type)? '=' expr                        # localLetStmt
    | ifChain                                            # ifStmt
    | FOR ID IN expr (DOTDOT expr)? block                # forStmt
    | MATCH expr '{' matchStmtArm* '}'                   # matchStmt
    | DECIDE '(' expr ')'                                # decideStmt
    | HALT                                               # haltStmt
    | GO                                                 # goStmt
    | RETURN expr                                        # returnStmt
    | LOG STRING (',' expr)*                             # logStmt
    | MODEL block                                        # modelStmt
    | expr op=('=' | '+=' | '-=' | '*=' | '&=' | '|=' | '^=' | '<<=' | '>>=') expr   # assignStmt
    | expr                                               # exprStmt
    | ';'                                                # emptyStmt
    ;

ifChain
    : IF cond=expr (eq='=' rhs=expr)? block (ELSE (ifChain | block))?
    ;

// A pattern is a list of enum variants, or `_` (an ID) for the rest.
matchPattern
    : ID ('|' ID)*
    ;

matchStmtArm
    : matchPattern '=>' block
    ;

matchExprArm
    : matchPattern '=>' expr
    ;

// ---------------------------------------------------------------- expressions
// Alternatives are listed from the tightest binding to the loosest; ANTLR
// turns the left recursion into a precedence-climbing loop.
expr
    : primary                                                     # primaryExpr
    | expr '.' memberName (call='(' args? ')')?                   # memberExpr
    | expr '.' INT                                                # tupleIndexExpr
    | expr '[' expr ']'                                           # indexExpr
    | op=('!' | '-' | '~') expr                                   # unaryExpr
    | expr op=('*' | '/' | '%') expr                              # mulExpr
    | expr op=('+' | '-') expr                                    # addExpr
    | expr op=('<<' | '>>') expr                                  # shiftExpr
    | expr '&' expr                                               # bitAndExpr
    | expr '^' expr                                               # bitXorExpr
    | expr '|' expr                                               # bitOrExpr
    | expr op=('<' | '<=' | '>' | '>=') expr                      # relExpr
    | expr op=('==' | '!=') expr                                  # eqExpr
    | expr '&&' expr                                              # andExpr
    | expr '||' expr                                              # orExpr
    | <assoc=right> expr '==>' expr                               # impliesExpr
    | <assoc=right> expr '?' expr ':' expr                        # condExpr
    | quant=(FORALL | EXISTS) ID (',' ID)* ':' expr               # quantExpr
    | lambdaParams '=>' expr                                      # lambdaExpr
    ;

// Mailbox operations share their names with the keywords `all` and `exists`.
memberName
    : ID | ALL | EXISTS
    ;

lambdaParams
    : ID                            # singleLambdaParam
    | '(' ID (',' ID)* ')'          # multiLambdaParams
    ;

primary
    : INT                                       # intLit
    | DURATION                                  # durationLit
    | (TRUE | FALSE)                            # boolLit
    | NONE                                      # noneLit
    | SOME '(' expr ')'                         # someLit
    | OLD '(' expr ')'                          # oldExpr
    | callee=(ID | SET_T) '(' args? ')'         # callExpr
    | ID? '{' fieldInit (',' fieldInit)* ','? '}'   # recordLit
    | ID                                        # nameExpr
    | '(' ')'                                   # unitLit
    | '(' expr (',' expr)* ')'                  # parenExpr
    | '[' expr ';' ID ']'                       # arrayLit
    | STRING                                    # stringLit
    | MATCH expr '{' matchExprArm (',' matchExprArm)* ','? '}'   # matchExpr
    ;

fieldInit
    : ID ':' expr
    ;

args
    : expr (',' expr)*
    ;

// ---------------------------------------------------------------- types
type
    : base=type '?'                              # optionType
    | INT_T                                      # intType
    | BOOL_T                                     # boolType
    | PID_T                                      # pidType
    | SET_T '<' setElem '>'                      # setType
    | '(' type ',' type (',' type)* ')'          # tupleType
    | '(' ')'                                    # unitType
    | '[' type ';' ID ']'                        # arrayType
    | ID '<' INT '>'                             # sizedType
    | '{' fieldType (',' fieldType)* ','? '}'    # recordType
    | ID                                         # namedType
    ;

fieldType
    : ID ':' type
    ;

// set<pid>, set<E> of an enum E, set<lo..hi> of ints lo .. hi-1: one rule,
// so that a wrong element type gets one clear "expected" list.
setElem
    : PID_T                                      # pidSetElem
    | ID                                         # enumSetElem
    | lo=rangeBound DOTDOT hi=rangeBound         # rangeSetElem
    ;

rangeBound
    : '-'? INT
    ;

// ---------------------------------------------------------------- lexer
PROTOCOL  : 'protocol';
MODULE    : 'module';
IMPORT    : 'import';
CONST     : 'const';
INPUT     : 'input';
OUTPUT    : 'output';
VAR       : 'var';
LET       : 'let';
TYPE      : 'type';
FN        : 'fn';
ROUND     : 'round';
SEND      : 'send';
TO        : 'to';
ALL       : 'all';
UPDATE    : 'update';
RECEIVE   : 'receive';
FINISH    : 'finish';
PROGRESS  : 'progress';
TIMEOUT   : 'timeout';
GO        : 'go';
WHEN      : 'when';
WAIT      : 'wait';
STRICT    : 'strict';
SYNC      : 'sync';
IF        : 'if';
ELSE      : 'else';
FOR       : 'for';
IN        : 'in';
DECIDE    : 'decide';
HALT      : 'halt';
INVARIANT : 'invariant';
PROPERTY  : 'property';
LIVENESS  : 'liveness';
AFTER     : 'after';
ROUNDS    : 'rounds';
WHERE     : 'where';
ASSUME    : 'assume';
BYZANTINE : 'byzantine';
FORALL    : 'forall';
EXISTS    : 'exists';
TRUE      : 'true';
FALSE     : 'false';
NONE      : 'none';
SOME      : 'some';
OLD       : 'old';
INT_T     : 'int';
BOOL_T    : 'bool';
PID_T     : 'pid';
SET_T     : 'set';
ENUM      : 'enum';
MATCH     : 'match';
RETURN    : 'return';
LOG       : 'log';
MODEL     : 'model';

DURATION  : [0-9]+ ('ms' | 'us' | 's');
INT       : [0-9]+;
ID        : [a-zA-Z_] [a-zA-Z_0-9]*;
DOTDOT    : '..';
// A string: a bytes<K> literal, or the format of `log`. Escapes \" \\ \n \t \r \0 \xHH;
// no newline inside.
STRING    : '"' ( ~["\\\r\n] | '\\' ~[\r\n] )* '"';
// A string cut short by the end of its line: its own token, so that the
// diagnostic can say so.
UNTERMINATED_STRING : '"' ( ~["\\\r\n] | '\\' ~[\r\n] )* '\\'?;

DOC_COMMENT   : '///' ~[\r\n]* -> channel(HIDDEN);
LINE_COMMENT  : '//' ~[\r\n]* -> channel(HIDDEN);
BLOCK_COMMENT : '/*' .*? '*/' -> channel(HIDDEN);
// An unterminated block comment runs to the end of the file; the lexer
// hands it to the parser as its own token so that the diagnostic can say so.
UNTERMINATED_COMMENT : '/*' ( ~'*' | '*'+ ~[*/] )* '*'* EOF;
WS            : [ \t\r\n\f]+ -> channel(HIDDEN);

// Punctuation is implicit in the parser rules; everything else is an error
// token that the diagnostic layer reports as "unexpected character".
ERROR_CHAR : . ;
