/** The HTML report's stylesheet, inlined in the page (no external file, no web font). */
export const PAGE_STYLE = `
body { font: 14px/1.45 "DejaVu Sans", Helvetica, Arial, sans-serif; color: #1d1d1d; margin: 0; background: #f4f4f2; }
main { max-width: 880px; margin: 0 auto; padding: 20px 28px 40px; background: #fff; }
h1 { font-size: 22px; margin: 0 0 4px; }
h2 { font-size: 17px; margin: 28px 0 8px; border-bottom: 1px solid #ddd; padding-bottom: 3px; }
h3 { font-size: 15px; margin: 0 0 6px; }
.meta { color: #555; margin: 0; }
.verdict { border-left: 6px solid #888; background: #f7f7f7; padding: 10px 14px; margin: 16px 0; }
.verdict .level { font-weight: bold; letter-spacing: 0.04em; }
.sev-critical { border-color: #b71c1c; } .sev-warning { border-color: #e08a00; } .sev-info { border-color: #3366aa; } .sev-ok { border-color: #2e7d32; }
.badge { display: inline-block; font-size: 11px; font-weight: bold; padding: 1px 6px; border-radius: 3px; color: #fff; background: #888; vertical-align: 2px; }
.badge.critical { background: #b71c1c; } .badge.warning { background: #e08a00; } .badge.info { background: #3366aa; } .badge.ok { background: #2e7d32; }
dl.counts { display: grid; grid-template-columns: max-content auto; gap: 2px 14px; margin: 8px 0; }
dl.counts dt { color: #555; } dl.counts dd { margin: 0; font-weight: bold; }
figure { margin: 14px 0 22px; } figcaption { color: #555; font-size: 12.5px; max-width: 760px; }
.finding { border: 1px solid #ddd; border-radius: 4px; padding: 12px 14px; margin: 14px 0; }
.finding ul { margin: 6px 0; padding-left: 20px; }
.finding .means { margin: 6px 0; }
code, pre { font: 12.5px "DejaVu Sans Mono", Menlo, Consolas, monospace; background: #f3f3f3; }
pre { padding: 6px 8px; white-space: pre-wrap; word-break: break-all; }
.note { color: #6b4e00; background: #fff8e1; padding: 4px 8px; font-size: 12.5px; }
svg.ladder { display: block; font: 11.5px "DejaVu Sans Mono", Menlo, Consolas, monospace; }
svg.ladder .lifeline { stroke: #333; stroke-width: 2; }
svg.ladder .end-name { font-weight: bold; font-family: "DejaVu Sans", Helvetica, Arial, sans-serif; font-size: 12.5px; }
svg.ladder .packet line { stroke: #3366aa; stroke-width: 1.4; } svg.ladder .packet path { fill: #3366aa; }
svg.ladder .packet.synfin line { stroke: #6a3d9a; } svg.ladder .packet.synfin path { fill: #6a3d9a; }
svg.ladder .packet.rst line { stroke: #c62828; } svg.ladder .packet.rst path { fill: #c62828; }
svg.ladder .packet text { fill: #222; }
svg.ladder .state { font-weight: bold; }
svg.ladder .time { fill: #777; font-size: 10.5px; }
svg.ladder .gap-label { fill: #777; font-style: italic; }
footer { color: #666; font-size: 12px; margin-top: 30px; }
`;
