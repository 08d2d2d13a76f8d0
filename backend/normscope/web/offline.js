// The HTML export's loader (a classic script: pages opened from file:// cannot load modules): unpacks the
// gzipped Plotly.js and experiment embedded in the page, then runs the dashboard's bundled code on them.
(async () => {
  const unpack = async (id) => {
    const bytes = Uint8Array.from(atob(document.getElementById(id).textContent.trim()), (c) => c.charCodeAt(0));
    const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
    return new Response(stream).text();
  };
  const run = (code) => document.body.append(Object.assign(document.createElement("script"), { textContent: code }));
  try {
    run(await unpack("normscope-plotly"));
    window.NORMSCOPE_EXPORT = JSON.parse(await unpack("normscope-data"));
    run(document.getElementById("normscope-app").textContent);
  } catch (e) {
    const error = document.getElementById("error");
    error.hidden = false;
    error.textContent = `This browser cannot open the export (it needs DecompressionStream: Chrome 80, Firefox 113, Safari 16.4 or later): ${e}`;
  }
})();
