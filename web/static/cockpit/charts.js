// Charts of the dashboard (throughput), a model (metric history) and a snapshot (ROC curve),
// each from a JSON block next to its canvas; every chart also has its numbers in a table.
(function () {
  'use strict';
  if (!window.Chart) { return; }
  var palette = ['#0b5cad', '#116329', '#a40e26', '#6e40c9', '#8a4b00', '#1b7c83'];
  function json(id) {
    var el = document.getElementById(id);
    return el ? JSON.parse(el.textContent) : null;
  }
  var throughput = json('throughput-data');
  if (throughput) {
    new Chart(document.getElementById('throughput-chart'), {
      type: 'bar',
      data: { labels: throughput.hours, datasets: [
        { label: 'started', data: throughput.started, backgroundColor: palette[0] },
        { label: 'completed', data: throughput.completed, backgroundColor: palette[1] }] },
      options: { maintainAspectRatio: false, scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } }
    });
  }
  var history = json('history-data');
  if (history) {
    new Chart(document.getElementById('history-chart'), {
      type: 'line',
      data: { labels: history.versions, datasets: Object.keys(history.metrics).sort().map(function (name, i) {
        return { label: name, data: history.metrics[name], borderColor: palette[i % palette.length],
                 backgroundColor: palette[i % palette.length], spanGaps: true };
      }) },
      options: { maintainAspectRatio: false }
    });
  }
  var roc = json('roc-data');
  if (roc) {
    new Chart(document.getElementById('roc-chart'), {
      type: 'scatter',
      data: { datasets: [
        { label: 'ROC', showLine: true, borderColor: palette[0], backgroundColor: palette[0], pointRadius: 0,
          data: roc.fpr.map(function (x, i) { return { x: x, y: roc.tpr[i] }; }) },
        { label: 'chance', showLine: true, borderDash: [6, 4], borderColor: '#57606a', pointRadius: 0,
          data: [{ x: 0, y: 0 }, { x: 1, y: 1 }] }] },
      options: { maintainAspectRatio: false, scales: {
        x: { min: 0, max: 1, title: { display: true, text: 'false positive rate' } },
        y: { min: 0, max: 1, title: { display: true, text: 'true positive rate' } } } }
    });
  }
})();
