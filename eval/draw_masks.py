"""Draws eval/masks/*.png and eval/boxes.csv: the object each photo is classified as (the model's
top-1: tiger cat, espresso, missile, football helmet), outlined by hand as polygons and ellipses
over the photo. Run by hand (Pillow); the outputs are committed."""
from pathlib import Path

from PIL import Image, ImageDraw

HERE = Path(__file__).parent

# Per image: polygons and ellipses (x0, y0, x1, y1) that together cover the object.
SHAPES = {
    "chelsea.png": {"polygons": [[(0, 0), (400, 0), (392, 45), (368, 95), (362, 150), (366, 215), (352, 262), (335, 300), (0, 300)]]},
    "coffee.png": {
        "ellipses": [(172, 18, 410, 208), (195, 228, 262, 308)],
        "polygons": [[(176, 120), (408, 120), (396, 200), (372, 245), (330, 272), (290, 282), (250, 272), (210, 245), (186, 205)]],
    },
    "rocket.png": {"polygons": [[(322, 127), (331, 134), (335, 150), (336, 350), (342, 405), (302, 405), (308, 350), (309, 150), (313, 134)]]},
    "astronaut.png": {"ellipses": [(277, 343, 530, 560)]},
}


def main():
    rows = ["image,x0,y0,x1,y1"]
    (HERE / "masks").mkdir(exist_ok=True)
    for name, shapes in SHAPES.items():
        width, height = Image.open(HERE / "images" / name).size
        mask = Image.new("L", (width, height), 0)
        draw = ImageDraw.Draw(mask)
        for polygon in shapes.get("polygons", []):
            draw.polygon(polygon, fill=255)
        for ellipse in shapes.get("ellipses", []):
            draw.ellipse(ellipse, fill=255)
        mask.save(HERE / "masks" / name)
        x0, y0, x1, y1 = mask.getbbox()  # ends exclusive, as layercam reads boxes
        rows.append(f"{name},{x0},{y0},{x1},{y1}")
    (HERE / "boxes.csv").write_text("\n".join(rows) + "\n")


if __name__ == "__main__":
    main()
