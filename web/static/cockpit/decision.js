// Draws a deployed decision table with dmn-js and highlights the rules the last evaluation
// matched (ids from #decision-data).
(function () {
  'use strict';
  var container = document.getElementById('decision');
  if (!container || !window.DmnJS) { return; }
  var matched = JSON.parse(document.getElementById('decision-data').textContent).matched;
  var key = container.getAttribute('data-decision');
  var placeholder = container.querySelector('p');
  var viewer = new window.DmnJS({ container: container });
  fetch(container.getAttribute('data-xml-url'), { credentials: 'same-origin' })
    .then(function (response) {
      if (!response.ok) { throw new Error('HTTP ' + response.status); }
      return response.text();
    })
    .then(function (xml) { return viewer.importXML(xml); })
    .then(function () {
      var view = viewer.getViews().filter(function (v) {
        return v.element.id === key && v.type !== 'drd';
      })[0];
      return view ? viewer.open(view) : null;
    })
    .then(function () {
      matched.forEach(function (rule) {
        container.querySelectorAll('[data-row-id="' + CSS.escape(rule) + '"]').forEach(function (cell) {
          var row = cell.closest('tr');
          if (row) { row.classList.add('matched-rule'); }
        });
      });
      if (placeholder) { placeholder.remove(); }
      container.setAttribute('data-rendered', 'true');
    })
    .catch(function (error) {
      container.textContent = 'Could not draw the decision: ' + error.message;
    });
})();
