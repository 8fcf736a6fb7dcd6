// The modeler page: bpmn-js with the Camunda 7 properties panel; "Check" asks this engine
// for the problems a deployment would be refused with and marks them on the elements;
// "Deploy" deploys the edited diagram as the next version.
(function () {
  'use strict';
  var cfg = JSON.parse(document.getElementById('modeler-data').textContent);
  var statusLine = document.getElementById('modeler-status');
  var list = document.getElementById('modeler-problems');
  var M = window.MlcModeler;
  var modeler = new M.BpmnModeler({
    container: '#canvas',
    propertiesPanel: { parent: '#properties' },
    additionalModules: M.additionalModules,
    moddleExtensions: M.moddleExtensions
  });
  window.mlcModeler = modeler;  // lets tests (and curious operators) reach the modeler
  var marked = [];

  function say(text) { statusLine.textContent = text; }

  function clearProblems() {
    var canvas = modeler.get('canvas');
    marked.forEach(function (id) { canvas.removeMarker(id, 'problem-element'); });
    marked = [];
    modeler.get('overlays').remove({ type: 'problem' });
    list.innerHTML = '';
  }

  function showProblems(problems) {
    clearProblems();
    var registry = modeler.get('elementRegistry');
    var canvas = modeler.get('canvas');
    var overlays = modeler.get('overlays');
    problems.forEach(function (p) {
      var item = document.createElement('li');
      var where = (p.line ? 'line ' + p.line + ' ' : '') + (p.element_id ? '[' + p.element_id + '] ' : '');
      if (p.element_id && registry.get(p.element_id)) {
        var button = document.createElement('button');
        button.type = 'button';
        button.className = 'secondary';
        button.textContent = where.trim();
        button.addEventListener('click', function () {
          modeler.get('selection').select(registry.get(p.element_id));
          canvas.scrollToElement(registry.get(p.element_id));
        });
        item.appendChild(button);
        item.appendChild(document.createTextNode(' ' + p.message));
        if (marked.indexOf(p.element_id) < 0) {
          canvas.addMarker(p.element_id, 'problem-element');
          marked.push(p.element_id);
          var flag = document.createElement('span');
          flag.className = 'problem-flag';
          flag.textContent = '!';
          flag.title = p.message;
          overlays.add(p.element_id, 'problem', { position: { top: -10, right: 10 }, html: flag });
        }
      } else {
        item.textContent = where + p.message;
      }
      list.appendChild(item);
    });
  }

  function post(url) {
    return modeler.saveXML({ format: true }).then(function (saved) {
      return fetch(url, {
        method: 'POST', credentials: 'same-origin',
        headers: { 'Content-Type': 'application/xml', 'X-CSRFToken': cfg.csrf,
                   'Accept': 'application/json' },
        body: saved.xml
      });
    }).then(function (response) {
      return response.json().then(function (body) { return { status: response.status, body: body }; });
    });
  }

  document.getElementById('validate').addEventListener('click', function () {
    say('Checking…');
    post(cfg.validate).then(function (r) {
      if (r.body.problems) { showProblems(r.body.problems); }
      if (r.status >= 400 && !r.body.problems) { say('Not checked: ' + r.body.message); return; }
      say(r.body.valid ? 'No problems: this engine would deploy it.'
                       : r.body.problems.length + ' problem(s): see the list and the marked elements.');
    }).catch(function (e) { say('Not checked: ' + e.message); });
  });

  document.getElementById('deploy').addEventListener('click', function () {
    say('Deploying…');
    post(cfg.deploy).then(function (r) {
      if (r.body.deployed) {
        clearProblems();
        var mine = r.body.processes.filter(function (p) { return p.key === cfg.key; })[0] || r.body.processes[0];
        var unchanged = r.body.filtered.indexOf(mine.key) >= 0;
        statusLine.innerHTML = '';
        statusLine.appendChild(document.createTextNode(
          (unchanged ? 'Unchanged: ' : 'Deployed ') + mine.key + ' version ' + mine.version + '. '));
        var link = document.createElement('a');
        link.href = cfg.process_url + '?version=' + mine.version;
        link.textContent = 'Open it';
        statusLine.appendChild(link);
      } else if (r.body.problems) {
        showProblems(r.body.problems);
        say('Not deployed: ' + r.body.problems.length + ' problem(s).');
      } else {
        say('Not deployed: ' + (r.body.message || ('HTTP ' + r.status)));
      }
    }).catch(function (e) { say('Not deployed: ' + e.message); });
  });

  document.getElementById('download').addEventListener('click', function () {
    modeler.saveXML({ format: true }).then(function (saved) {
      var link = document.createElement('a');
      link.href = URL.createObjectURL(new Blob([saved.xml], { type: 'application/xml' }));
      link.download = cfg.file;
      link.click();
      URL.revokeObjectURL(link.href);
    });
  });

  modeler.importXML(cfg.xml).then(function (result) {
    modeler.get('canvas').zoom('fit-viewport');
    say(result.warnings.length ? 'Opened with ' + result.warnings.length + ' warning(s).'
                               : 'Opened. Edit, check, then deploy.');
    document.getElementById('canvas').setAttribute('data-rendered', 'true');
  }).catch(function (e) { say('Could not open the diagram: ' + e.message); });
})();
