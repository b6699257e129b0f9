/**
 * The widget properties a device may set on a datastream (`ds/<name>/prop/<property>`), as Blynk
 * names them: `DataStreamPropertyName` in Blynk's data-converter API (blynkkk/docs,
 * blynk.console/templates/data-converters/mqtt-data-converter.md), which also covers every
 * property of the firmware API's widget-properties page. Anything else is refused.
 */
export const WIDGET_PROPERTIES: ReadonlySet<string> = new Set([
  'label',
  'color',
  'onBackColor',
  'offBackColor',
  'onColor',
  'offColor',
  'onLabel',
  'offLabel',
  'labels',
  'min',
  'max',
  'isOnPlay',
  'url',
  'urls',
  'step',
  'valueFormatting',
  'suffix',
  'maximumFractionDigits',
  'opacity',
  'scale',
  'rotation',
  'sortType',
  'isDisabled',
  'isHidden',
  'icons',
  'onImageUrl',
  'offImageUrl',
  'page',
  'sound',
  'isMuted',
  'loop',
  'autoplay',
  'contentDesign',
  'backColor',
]);

export const isWidgetProperty = (name: string): boolean => WIDGET_PROPERTIES.has(name);
