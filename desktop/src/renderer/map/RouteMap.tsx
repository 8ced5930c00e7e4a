import { useEffect, useRef, useState } from 'react';
import { Map as MapLibreMap, Marker, setWorkerUrl, type GeoJSONSource } from 'maplibre-gl';
import 'maplibre-gl/dist/maplibre-gl.css';
import workerUrl from 'maplibre-gl/dist/maplibre-gl-worker.mjs?url';
import type { MapDriverView, MapStopView, RouteMapView } from '@depotline/shared';
import { statusLabel } from '../format';
import { baseStyle, boundsOf, graticule, routeColor, routeLines } from './map-style';

// The map library's worker is a file of this build (worker-src 'self'), never a blob: URL.
setWorkerUrl(new URL(workerUrl, document.baseURI).href);

/** At most this many stop markers; beyond it the map says so and asks for fewer routes. */
export const markerLimit = 1000;

interface Props {
  view: RouteMapView;
  selectedStopId: string | null;
  onSelectStop: (stopId: string) => void;
}

/**
 * Stops, route lines and drivers on a MapLibre GL map. Route lines are drawn by the map (WebGL);
 * stops and drivers are markers (buttons: focusable, labelled, clickable). The background is the
 * depot's tile server when configured, else a plain canvas with a latitude/longitude grid.
 */
export function RouteMap({ view, selectedStopId, onSelectStop }: Props) {
  const container = useRef<HTMLDivElement>(null);
  const map = useRef<MapLibreMap | null>(null);
  const [loaded, setLoaded] = useState(false);
  const [tileProblem, setTileProblem] = useState(false);
  const select = useRef(onSelectStop);
  select.current = onSelectStop;
  const tilesKey = view.tiles?.urlTemplate ?? '';

  useEffect(() => {
    if (!container.current) return;
    const m = new MapLibreMap({
      container: container.current,
      style: baseStyle(view.tiles),
      center: [0, 20],
      zoom: 1,
      maxZoom: view.tiles?.maxZoom ?? 19,
      attributionControl: false,
      dragRotate: false,
      pitchWithRotate: false,
      touchPitch: false,
      fadeDuration: 0,
    });
    m.touchZoomRotate.disableRotation();
    // A tile that fails to load is reported under the map, not thrown at the console.
    m.on('error', () => setTileProblem(true));
    m.on('load', () => {
      m.addSource('grid', { type: 'geojson', data: { type: 'FeatureCollection', features: [] } });
      m.addSource('routes', { type: 'geojson', data: { type: 'FeatureCollection', features: [] } });
      if (!view.tiles) m.addLayer({ id: 'grid', type: 'line', source: 'grid', paint: { 'line-color': '#d5dbe2', 'line-width': 1 } });
      m.addLayer({ id: 'route-casing', type: 'line', source: 'routes', layout: { 'line-join': 'round', 'line-cap': 'round' }, paint: { 'line-color': '#ffffff', 'line-width': 6, 'line-opacity': 0.85 } });
      m.addLayer({ id: 'route-lines', type: 'line', source: 'routes', layout: { 'line-join': 'round', 'line-cap': 'round' }, paint: { 'line-color': ['get', 'color'], 'line-width': 3 } });
      setLoaded(true);
    });
    map.current = m;
    return () => {
      map.current = null;
      setLoaded(false);
      m.remove();
    };
    // The style is set once per tile server (fixed while the console runs): `tilesKey` stands for `view.tiles`.
  }, [tilesKey]);

  // Fit the view when the set of routes changes, not on every data refresh (the user's pan stays).
  const routesKey = view.routes.map((r) => r.id).join(',');
  const fitted = useRef<string | null>(null);
  useEffect(() => {
    const m = map.current;
    if (!m || !loaded) return;
    const bounds = boundsOf(view);
    void m.getSource<GeoJSONSource>('routes')?.setData(routeLines(view));
    void m.getSource<GeoJSONSource>('grid')?.setData(graticule(bounds));
    if (fitted.current !== routesKey && bounds) {
      fitted.current = routesKey;
      m.fitBounds(bounds, { padding: 48, maxZoom: 15, duration: 0 });
    }
  }, [view, loaded, routesKey]);

  // Markers: rebuilt when the data changes (a few hundred buttons at most).
  useEffect(() => {
    const m = map.current;
    if (!m || !loaded) return;
    const colorOf = new Map(view.routes.map((r, i) => [r.id, routeColor(i)]));
    const routeName = new Map(view.routes.map((r) => [r.id, r.name]));
    const markers: Marker[] = [];
    for (const stop of view.stops.slice(0, markerLimit)) {
      const element = stopMarker(stop, routeName.get(stop.routeId) ?? '', colorOf.get(stop.routeId) ?? routeColor(0), stop.id === selectedStopId);
      element.addEventListener('click', (e) => {
        e.stopPropagation();
        select.current(stop.id);
      });
      markers.push(new Marker({ element }).setLngLat([stop.lng, stop.lat]).addTo(m));
    }
    for (const driver of view.drivers) markers.push(new Marker({ element: driverMarker(driver) }).setLngLat([driver.lng, driver.lat]).addTo(m));
    return () => {
      for (const marker of markers) marker.remove();
    };
  }, [view, loaded, selectedStopId]);

  return (
    <div className="route-map-frame">
      <div
        ref={container} className="route-map" data-testid="route-map" data-ready={loaded ? 'true' : 'false'}
        data-background={view.tiles ? 'tiles' : 'plain'} role="region" aria-label="Map of the routes' stops and drivers"
      />
      {(view.tiles?.attribution || tileProblem) && (
        <p className="map-attribution muted" data-testid="map-attribution">
          {view.tiles?.attribution}
          {tileProblem && <span className="map-tile-problem" role="status"> Some map tiles could not be loaded from the depot's tile server.</span>}
        </p>
      )}
    </div>
  );
}

function stopMarker(stop: MapStopView, routeName: string, color: string, selected: boolean): HTMLButtonElement {
  const b = document.createElement('button');
  b.type = 'button';
  b.className = `map-stop status-${stop.status}${selected ? ' selected' : ''}`;
  b.dataset['testid'] = 'map-stop';
  b.dataset['stopId'] = stop.id;
  b.style.borderColor = color;
  b.textContent = String(stop.sequence + 1);
  const who = stop.customerName ? ` · ${stop.customerName}` : '';
  b.setAttribute('aria-label', `${routeName} stop ${stop.sequence + 1}${who} · ${statusLabel[stop.status]}`);
  b.setAttribute('aria-pressed', selected ? 'true' : 'false');
  b.title = `${routeName} · stop ${stop.sequence + 1}${who}${stop.address ? `\n${stop.address}` : ''}\n${statusLabel[stop.status]}`;
  return b;
}

function driverMarker(driver: MapDriverView): HTMLDivElement {
  const d = document.createElement('div');
  d.className = 'map-driver';
  d.dataset['testid'] = 'map-driver';
  d.dataset['driverId'] = driver.driverId;
  d.setAttribute('role', 'img');
  const name = driver.driverName ?? 'Driver';
  d.setAttribute('aria-label', `${name}, last reported position`);
  const dot = document.createElement('span');
  dot.className = 'map-driver-dot';
  const label = document.createElement('span');
  label.className = 'map-driver-label';
  label.textContent = name;
  d.append(dot, label);
  return d;
}
