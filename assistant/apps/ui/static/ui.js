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
})();
