//! The experiments' plots, as SVG through plotters (text is left to the viewer's fonts).

use std::path::Path;

use layercam::{Error, Result};
use plotters::prelude::*;

use crate::eval::Plotted;

/// One row of an experiment's table: method, map, the values of every column.
pub type Row = (String, String, Vec<f64>);

const SIZE: (u32, u32) = (900, 560);

/// `plotted` of `table` into an SVG file at `path`.
pub fn draw(path: &Path, title: &str, plotted: Plotted, columns: &[String], table: &[Row]) -> Result<()> {
    let failed = |e: String| Error::Input(format!("cannot draw {}: {e}", path.display()));
    let root = SVGBackend::new(path, SIZE).into_drawing_area();
    root.fill(&WHITE).map_err(|e| failed(e.to_string()))?;
    let lines = lines(&plotted, table);
    let (x_labels, y_label) = match &plotted {
        Plotted::ByMap { column } => (maps(table), columns[*column].clone()),
        Plotted::Curves { label, .. } => (vec![], format!("{label}, by fraction of the pixels taken")),
    };
    let x_max = lines.iter().flat_map(|(_, points)| points.iter().map(|p| p.0)).fold(1.0, f64::max);
    let y_max = lines.iter().flat_map(|(_, points)| points.iter().map(|p| p.1)).fold(f64::MIN_POSITIVE, f64::max) * 1.05;
    // From 0, or below it for a metric that goes negative (ROAD's combined score, a change of probability).
    let y_min = lines.iter().flat_map(|(_, points)| points.iter().map(|p| p.1)).fold(0.0, f64::min) * 1.05;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 22))
        .margin(16)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(-0.05..x_max + 0.05, y_min..y_max)
        .map_err(|e| failed(e.to_string()))?;
    let by_map = !x_labels.is_empty();
    chart
        .configure_mesh()
        .y_desc(y_label)
        .x_desc(if by_map { "map (S1 = shallowest stage)" } else { "fraction of the pixels" })
        .x_labels(if by_map { x_labels.len() } else { 11 })
        .x_label_formatter(&|x| {
            if by_map {
                x_labels.get(x.round() as usize).filter(|_| (x - x.round()).abs() < 1e-6).cloned().unwrap_or_default()
            } else {
                format!("{x:.1}")
            }
        })
        .draw()
        .map_err(|e| failed(e.to_string()))?;
    for (i, (name, points)) in lines.into_iter().enumerate() {
        let colour = Palette99::pick(i).to_rgba();
        chart
            .draw_series(LineSeries::new(points.clone(), colour.stroke_width(2)))
            .map_err(|e| failed(e.to_string()))?
            .label(name)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], colour.stroke_width(2)));
        chart.draw_series(points.into_iter().map(|p| Circle::new(p, 3, colour.filled()))).map_err(|e| failed(e.to_string()))?;
    }
    chart.configure_series_labels().background_style(WHITE.mix(0.8)).border_style(BLACK).draw().map_err(|e| failed(e.to_string()))?;
    root.present().map_err(|e| failed(e.to_string()))
}

/// The maps in the table's order, each once.
fn maps(table: &[Row]) -> Vec<String> {
    let mut maps: Vec<String> = vec![];
    for (_, map, _) in table {
        if !maps.contains(map) {
            maps.push(map.clone());
        }
    }
    maps
}

/// The lines to draw: (legend, points).
fn lines(plotted: &Plotted, table: &[Row]) -> Vec<(String, Vec<(f64, f64)>)> {
    match plotted {
        Plotted::ByMap { column } => {
            let maps = maps(table);
            let mut methods: Vec<&String> = table.iter().map(|(method, ..)| method).collect();
            methods.dedup();
            methods
                .into_iter()
                .map(|method| {
                    let points = table
                        .iter()
                        .filter(|(m, ..)| m == method)
                        .map(|(_, map, values)| (maps.iter().position(|m| m == map).expect("listed") as f64, values[*column]))
                        .collect();
                    (method.clone(), points)
                })
                .collect()
        }
        Plotted::Curves { first, maps, .. } => table
            .iter()
            .filter(|(_, map, _)| maps(map))
            .map(|(method, map, values)| {
                let steps = values.len() - first - 1;
                let points = values[*first..].iter().enumerate().map(|(s, &p)| (s as f64 / steps as f64, p)).collect();
                (format!("{method}, {map}"), points)
            })
            .collect(),
    }
}
