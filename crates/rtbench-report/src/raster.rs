//! The PNG canvas: plotters' bitmap backend with text laid out by ab_glyph from the bundled font.
//!
//! plotters' own ab_glyph text drops each glyph's side bearing and rounds its vertical offset on
//! its own, which at chart sizes lifts full stops off the baseline ("8·60k") and spaces letters
//! unevenly. Here every glyph is placed at its advance on one shared baseline, sizes are pixels
//! per em as in SVG and CSS, and anchors follow the SVG backend's, so the PNG and the SVG of a
//! chart put text in the same place.

use ab_glyph::{Font, FontRef, Glyph, PxScale, ScaleFont};
use plotters::prelude::*;
use plotters_backend::text_anchor::{HPos, VPos};
use plotters_backend::{
    BackendColor, BackendCoord, BackendStyle, BackendTextStyle, DrawingErrorKind,
};

/// DejaVu Sans's x-height in ems (1120 of 2048 units): the SVG backend centres text with `0.5ex`.
const X_HEIGHT_EM: f32 = 0.547;
/// The SVG backend's `dy` for top-anchored text.
const TOP_EM: f32 = 0.76;
/// plotters' text sizes are line heights: its SVG backend writes `font-size` = size / 1.24.
pub(crate) const EM_TO_PLOTTERS: f64 = 1.24;

/// A bitmap backend whose text is drawn with `font`.
pub(crate) struct Canvas<'a> {
    inner: BitMapBackend<'a>,
    font: FontRef<'static>,
}

impl<'a> Canvas<'a> {
    pub fn new(inner: BitMapBackend<'a>, font: FontRef<'static>) -> Canvas<'a> {
        Canvas { inner, font }
    }
}

/// Glyphs of `text` at `size` pixels per em, on a baseline at y = 0 starting at x = 0, and the
/// advance width of the whole run.
pub(crate) fn layout(font: &FontRef<'static>, text: &str, size: f64) -> (Vec<Glyph>, f32) {
    let units = font.units_per_em().unwrap_or(2048.0);
    let scale = PxScale::from(size as f32 * font.height_unscaled() / units);
    let scaled = font.as_scaled(scale);
    let mut x = 0.0f32;
    let mut prev = None;
    let mut glyphs = Vec::with_capacity(text.len());
    for c in text.chars() {
        let id = scaled.glyph_id(c);
        if let Some(p) = prev {
            x += scaled.kern(p, id);
        }
        glyphs.push(id.with_scale_and_position(scale, ab_glyph::point(x, 0.0)));
        x += scaled.h_advance(id);
        prev = Some(id);
    }
    (glyphs, x)
}

impl DrawingBackend for Canvas<'_> {
    type ErrorType = <BitMapBackend<'static> as DrawingBackend>::ErrorType;

    fn get_size(&self) -> (u32, u32) {
        self.inner.get_size()
    }

    fn ensure_prepared(&mut self) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.inner.ensure_prepared()
    }

    fn present(&mut self) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.inner.present()
    }

    fn draw_pixel(
        &mut self,
        point: BackendCoord,
        color: BackendColor,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.inner.draw_pixel(point, color)
    }

    fn draw_line<S: BackendStyle>(
        &mut self,
        from: BackendCoord,
        to: BackendCoord,
        style: &S,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.inner.draw_line(from, to, style)
    }

    fn draw_rect<S: BackendStyle>(
        &mut self,
        upper_left: BackendCoord,
        bottom_right: BackendCoord,
        style: &S,
        fill: bool,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.inner.draw_rect(upper_left, bottom_right, style, fill)
    }

    fn draw_path<S: BackendStyle, I: IntoIterator<Item = BackendCoord>>(
        &mut self,
        path: I,
        style: &S,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.inner.draw_path(path, style)
    }

    fn draw_circle<S: BackendStyle>(
        &mut self,
        center: BackendCoord,
        radius: u32,
        style: &S,
        fill: bool,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.inner.draw_circle(center, radius, style, fill)
    }

    fn fill_polygon<S: BackendStyle, I: IntoIterator<Item = BackendCoord>>(
        &mut self,
        vert: I,
        style: &S,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.inner.fill_polygon(vert, style)
    }

    fn blit_bitmap(
        &mut self,
        pos: BackendCoord,
        size: (u32, u32),
        src: &[u8],
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.inner.blit_bitmap(pos, size, src)
    }

    fn estimate_text_size<TStyle: BackendTextStyle>(
        &self,
        text: &str,
        style: &TStyle,
    ) -> Result<(u32, u32), DrawingErrorKind<Self::ErrorType>> {
        let em = style.size() / EM_TO_PLOTTERS;
        let (_, width) = layout(&self.font, text, em);
        Ok((width.ceil() as u32, style.size().ceil() as u32))
    }

    fn draw_text<TStyle: BackendTextStyle>(
        &mut self,
        text: &str,
        style: &TStyle,
        pos: BackendCoord,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        let colour = style.color();
        if colour.alpha == 0.0 {
            return Ok(());
        }
        let em = style.size() / EM_TO_PLOTTERS;
        let size = em as f32;
        let (glyphs, width) = layout(&self.font, text, em);
        let anchor = style.anchor();
        let dx = match anchor.h_pos {
            HPos::Left => 0.0,
            HPos::Center => -width / 2.0,
            HPos::Right => -width,
        };
        let baseline = match anchor.v_pos {
            VPos::Top => TOP_EM * size,
            VPos::Center => 0.5 * X_HEIGHT_EM * size,
            VPos::Bottom => -0.5 * X_HEIGHT_EM * size,
        };
        let transform = style.transform();
        let mut pixels = Vec::new();
        for g in glyphs {
            let Some(outline) = self.font.outline_glyph(g) else {
                continue; // a space
            };
            let b = outline.px_bounds();
            outline.draw(|x, y, coverage| {
                if coverage > 0.0 {
                    let ox = (b.min.x + x as f32 + dx).round() as i32;
                    let oy = (b.min.y + y as f32 + baseline).round() as i32;
                    pixels.push((ox, oy, coverage));
                }
            });
        }
        for (ox, oy, coverage) in pixels {
            let (tx, ty) = transform.transform(ox, oy);
            let c = BackendColor {
                alpha: colour.alpha * f64::from(coverage.min(1.0)),
                rgb: colour.rgb,
            };
            self.inner.draw_pixel((pos.0 + tx, pos.1 + ty), c)?;
        }
        Ok(())
    }
}
