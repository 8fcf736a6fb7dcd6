// The cockpit's modeler: bpmn-js's Modeler with the properties panel, Camunda 7's moddle
// extension and its editing behaviours, bundled once by scripts/vendor-js.sh into
// web/static/vendor/modeler/mlc-modeler.min.js (exposed as window.MlcModeler).
import BpmnModeler from 'bpmn-js/lib/Modeler';
import {
  BpmnPropertiesPanelModule,
  BpmnPropertiesProviderModule,
  CamundaPlatformPropertiesProviderModule
} from 'bpmn-js-properties-panel';
import CamundaBehaviorsModule from 'camunda-bpmn-js-behaviors/lib/camunda-platform';
import camundaModdle from 'camunda-bpmn-moddle/resources/camunda.json';

window.MlcModeler = {
  BpmnModeler,
  additionalModules: [
    BpmnPropertiesPanelModule,
    BpmnPropertiesProviderModule,
    CamundaPlatformPropertiesProviderModule,
    CamundaBehaviorsModule
  ],
  moddleExtensions: { camunda: camundaModdle }
};
