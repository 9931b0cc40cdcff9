import Handlebars from 'handlebars';

export interface VariableUse {
  path: string;
  line: number;
  column: number;
}

type Node = hbs.AST.Node;

/**
 * The variables a template reads, with where it reads them. Paths inside
 * `#each` blocks are relative to the item and not reported; the iterated
 * path itself is.
 */
export function templateVariables(source: string): VariableUse[] {
  const uses: VariableUse[] = [];
  const visitExpression = (expr: hbs.AST.Expression | undefined, insideEach: boolean) => {
    if (!expr) return;
    if (expr.type === 'PathExpression') {
      const p = expr as hbs.AST.PathExpression;
      if (p.data || p.original === 'this' || p.depth > 0 || (insideEach && !p.original.startsWith('../'))) return;
      uses.push({ path: p.parts.join('.'), line: p.loc.start.line, column: p.loc.start.column + 1 });
    } else if (expr.type === 'SubExpression') {
      const s = expr as hbs.AST.SubExpression;
      s.params.forEach((e) => visitExpression(e, insideEach));
    }
  };
  const visit = (node: Node | undefined, insideEach: boolean): void => {
    if (!node) return;
    switch (node.type) {
      case 'Program':
        (node as hbs.AST.Program).body.forEach((n) => visit(n, insideEach));
        break;
      case 'MustacheStatement': {
        const m = node as hbs.AST.MustacheStatement;
        if (m.params.length === 0) visitExpression(m.path, insideEach);
        m.params.forEach((e) => visitExpression(e, insideEach));
        break;
      }
      case 'BlockStatement': {
        const b = node as hbs.AST.BlockStatement;
        b.params.forEach((e) => visitExpression(e, insideEach));
        const helper = (b.path as hbs.AST.PathExpression).original;
        const inner = insideEach || helper === 'each' || helper === 'with';
        visit(b.program, inner);
        visit(b.inverse, insideEach);
        break;
      }
      default:
        break;
    }
  };
  visit(Handlebars.parse(source), false);
  return uses;
}
