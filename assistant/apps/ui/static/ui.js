// Clicking a citation link shows its article in the passage viewer: every entry is already in the
// page, hidden, so no request is made. Delegated from the document, so it works for every answer.
(() => {
  function openCitation(id, tries = 30) {
    const target = document.getElementById(id);
    if (!target || !target.classList.contains('cited-article')) {
      // the viewer may still be rendering the answer that just arrived
      if (tries > 0) setTimeout(() => openCitation(id, tries - 1), 100);
      return false;
    }
    document.querySelectorAll('.cited-article').forEach((el) => {
      el.hidden = el !== target;
      el.classList.toggle('open', el === target);
    });
    document.querySelectorAll('a.cite-link.active').forEach((a) => a.classList.remove('active'));
    const mark = target.querySelector('mark.cited-quote');
    const box = target.querySelector('.article-text');
    target.scrollIntoView({block: 'nearest'});
    if (mark && box) box.scrollTop = Math.max(0, mark.offsetTop - box.offsetTop - 40);
    return true;
  }
  document.addEventListener('click', (event) => {
    const link = event.target.closest ? event.target.closest('a.cite-link') : null;
    if (!link) return;
    event.preventDefault();
    event.stopPropagation();
    link.classList.add('active');
    openCitation((link.getAttribute('href') || '').replace(/^#/, ''));
  }, true);
  window.newsAssistantOpenCitation = openCitation;
  // the figures-over-time chart: a click on a marker opens its passage, like its [n]; each point carries
  // [turn, n]. Gradio draws the chart again for every answer, so new drawings are watched for.
  function wireChart(graph) {
    if (!graph || graph.__newsAssistantWired || typeof graph.on !== 'function') return;
    graph.__newsAssistantWired = true;
    graph.on('plotly_click', (event) => {
      const point = event && event.points && event.points[0];
      if (!point || !point.customdata) return;
      const [turn, n] = point.customdata;
      openCitation(`cite-${turn}-${n}`);
    });
  }
  new MutationObserver(() => {
    document.querySelectorAll('#timeline-chart .js-plotly-plot').forEach(wireChart);
  }).observe(document.documentElement, {subtree: true, childList: true});
})();
