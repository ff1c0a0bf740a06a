"""Start the Film Reel explainer: `python app.py [--host H] [--port P] [--share] [--max-file-size SIZE]`."""
from explainer.serve import main

if __name__ == "__main__":
    main()
