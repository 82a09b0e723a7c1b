//! Reads QR codes back from the SVG the service puts in pages and serves: what a phone's camera
//! would read.

/// The text of the QR code in `svg`, drawn as this service draws (and redraws) codes: a
/// `viewBox` from 0, one unit a module, dark runs as `M x y h n v1 h-n z` in the first path.
/// Rasterised at 4 pixels a module, then decoded with `rqrr`.
pub fn decode(svg: &str) -> String {
    let view_box = svg.split("viewBox=\"0 0 ").nth(1).expect("a viewBox");
    let size: usize = view_box.split(' ').next().unwrap().parse().unwrap();
    let d = svg
        .split(" d=\"")
        .nth(1)
        .expect("a path")
        .split('"')
        .next()
        .unwrap();
    let mut dark = vec![false; size * size];
    for run in d.split('M').filter(|r| !r.is_empty()) {
        let (xy, rest) = run.split_once('h').unwrap();
        let (x, y) = xy.split_once(' ').unwrap();
        let (x, y): (usize, usize) = (x.parse().unwrap(), y.parse().unwrap());
        let len: usize = rest.split('v').next().unwrap().parse().unwrap();
        for i in 0..len {
            dark[y * size + x + i] = true;
        }
    }
    let scale = 4;
    let mut image =
        rqrr::PreparedImage::prepare_from_greyscale(size * scale, size * scale, |x, y| {
            if dark[(y / scale) * size + x / scale] {
                0
            } else {
                255
            }
        });
    let grids = image.detect_grids();
    assert_eq!(grids.len(), 1, "one QR code");
    grids[0].decode().expect("a readable code").1
}
