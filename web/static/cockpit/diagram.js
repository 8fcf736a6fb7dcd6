// Draws a deployed process with bpmn-js and marks it: per-activity counts of waiting
// instances, open incidents and a history heat map (definition page), or the instance's
// tokens, completed path and incidents (instance page). Data comes from #diagram-data.
(function () {
  'use strict';
  var container = document.getElementById('diagram');
  if (!container || !window.BpmnJS) { return; }
  var data = JSON.parse(document.getElementById('diagram-data').textContent);
  var status = container.querySelector('.diagram-status');
  var viewer = new window.BpmnJS({ container: container });

  function badge(overlays, id, text, kind, position, title) {
    var html = document.createElement('span');
    html.className = 'count ' + kind;
    html.textContent = text;
    html.title = title;
    try {
      overlays.add(id, kind, { position: position, html: html });
    } catch (e) { /* the element is not drawn (e.g. inside a collapsed subprocess) */ }
  }

  // Keyboard-reachable zoom: the mouse wheel and drag work too.
  function addTools(canvas) {
    var tools = document.createElement('div');
    tools.className = 'diagram-tools';
    [['Fit', 'Fit the whole diagram', function () { canvas.zoom('fit-viewport'); }],
     ['+', 'Zoom in', function () { canvas.zoom(canvas.zoom() * 1.25); }],
     ['\u2212', 'Zoom out', function () { canvas.zoom(canvas.zoom() / 1.25); }]
    ].forEach(function (spec) {
      var button = document.createElement('button');
      button.type = 'button';
      button.className = 'secondary';
      button.textContent = spec[0];
      button.setAttribute('aria-label', spec[1]);
      button.addEventListener('click', spec[2]);
      tools.appendChild(button);
    });
    container.appendChild(tools);
  }

  // A wide process fitted to the page is too small to read: show where the token is.
  function focus(canvas, element) {
    if (!element) { return; }
    var box = canvas.viewbox(), scale = 0.9;
    var width = box.outer.width / scale, height = box.outer.height / scale;
    canvas.viewbox({ x: element.x + element.width / 2 - width / 2,
                     y: element.y + element.height / 2 - height / 2, width: width, height: height });
  }

  function has(registry, id) { return !!registry.get(id); }

  function markDefinition(canvas, overlays, registry) {
    Object.keys(data.waiting).forEach(function (id) {
      badge(overlays, id, data.waiting[id], 'waiting', { bottom: 12, left: -10 },
            data.waiting[id] + ' instance(s) waiting here');
    });
    Object.keys(data.incidents).forEach(function (id) {
      if (has(registry, id)) { canvas.addMarker(id, 'incident-activity'); }
      badge(overlays, id, data.incidents[id], 'incident', { bottom: 12, right: 10 },
            data.incidents[id] + ' open incident(s)');
    });
    var toggle = document.getElementById('heat-toggle');
    if (!toggle) { return; }
    var heat = null;  // fetched the first time it is asked for: it reads the whole history
    function draw() {
      overlays.remove({ type: 'heat' });
      var max = Math.max.apply(null, [1].concat(Object.values(heat)));
      Object.keys(heat).forEach(function (id) {
        if (!has(registry, id)) { return; }
        for (var level = 1; level <= 4; level++) { canvas.removeMarker(id, 'heat-' + level); }
        if (!toggle.checked) { return; }
        canvas.addMarker(id, 'heat-' + Math.max(1, Math.ceil(4 * heat[id] / max)));
        badge(overlays, id, heat[id], 'heat', { top: -12, right: 10 },
              'completed ' + heat[id] + ' time(s)');
      });
      container.setAttribute('data-heat', toggle.checked ? 'shown' : 'hidden');
    }
    toggle.addEventListener('change', function () {
      if (heat) { draw(); return; }
      fetch(container.getAttribute('data-heat-url'), { credentials: 'same-origin' })
        .then(function (response) { return response.json(); })
        .then(function (counts) { heat = counts; draw(); });
    });
  }

  function markInstance(canvas, overlays, registry) {
    var done = {}, active = {};
    data.completed.forEach(function (id) { done[id] = true; });
    data.active.forEach(function (id) { active[id] = true; });
    data.completed.forEach(function (id) {
      if (has(registry, id) && !active[id]) { canvas.addMarker(id, 'completed-activity'); }
    });
    registry.filter(function (e) { return e.type === 'bpmn:SequenceFlow'; }).forEach(function (flow) {
      var source = flow.businessObject.sourceRef, target = flow.businessObject.targetRef;
      if (source && target && done[source.id] && (done[target.id] || active[target.id])) {
        canvas.addMarker(flow.id, 'completed-flow');
      }
    });
    data.active.forEach(function (id) {
      if (has(registry, id)) { canvas.addMarker(id, 'active-token'); }
      badge(overlays, id, 'token', 'waiting', { bottom: 12, left: -10 }, 'the instance is here');
    });
    data.incident_activities.forEach(function (id) {
      if (has(registry, id)) { canvas.addMarker(id, 'incident-activity'); }
      badge(overlays, id, 'incident', 'incident', { bottom: 12, right: 30 }, 'open incident');
    });
  }

  fetch(container.getAttribute('data-xml-url'), { credentials: 'same-origin' })
    .then(function (response) {
      if (!response.ok) { throw new Error('HTTP ' + response.status); }
      return response.text();
    })
    .then(function (xml) { return viewer.importXML(xml); })
    .then(function () {
      var canvas = viewer.get('canvas');
      var overlays = viewer.get('overlays');
      var registry = viewer.get('elementRegistry');
      canvas.zoom('fit-viewport');
      addTools(canvas);
      if (data.mode === 'instance' && data.active.length && canvas.zoom() < 0.6) {
        focus(canvas, registry.get(data.active[0]));
      }
      if (data.mode === 'definition') { markDefinition(canvas, overlays, registry); }
      else { markInstance(canvas, overlays, registry); }
      if (status) { status.remove(); }
      container.setAttribute('data-rendered', String(registry.getAll().length));
    })
    .catch(function (error) {
      if (status) { status.textContent = 'Could not draw the diagram: ' + error.message; }
    });
})();
